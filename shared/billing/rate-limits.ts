/**
 * Rate limits of a key: requests per minute, tokens per minute and calls at once. An admin
 * sets them per user group (in the price list) and may override them per key. They are
 * counted on the key's item by the hold's own write (store/accounts.ts), in fixed windows of
 * one minute, so enforcing them costs no round trip of its own.
 */
import { RATE_WINDOW_MS, windowOf } from "../store/accounts";

export interface RateLimits {
  /** Requests that may start per minute. */
  rpm?: number;
  /** Tokens (the upstream's usage, counted at settlement) per minute. */
  tpm?: number;
  /** Calls that may be in flight at once. */
  concurrency?: number;
}

export type RateDimension = keyof RateLimits;
export const RATE_DIMENSIONS: readonly RateDimension[] = ["rpm", "tpm", "concurrency"];

/** A key's override of one limit: a number, or 0 for none (null or absent: the group's). */
export type RateLimitOverrides = { [D in RateDimension]?: number | null };

/** The window limits are counted in, kept with the counters themselves (store/accounts.ts). */
export { RATE_WINDOW_MS, windowOf };

/** How long a caller refused for concurrency is told to wait: a slot frees when a call ends. */
const CONCURRENCY_RETRY_MS = 1_000;

/**
 * A key's limits: each of its own overrides where set (0: no limit), else its group's.
 * Undefined when none applies, so the call is counted nowhere (today's behaviour).
 */
export function effectiveLimits(
  group: RateLimits | undefined,
  overrides: RateLimitOverrides | undefined,
): RateLimits | undefined {
  const limits: RateLimits = {};
  for (const dimension of RATE_DIMENSIONS) {
    const value = overrides?.[dimension] ?? group?.[dimension];
    if (value) limits[dimension] = value;
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/** A key's counters in a window, as its hold's write left (or found) them. */
export interface RateState {
  limits: RateLimits;
  window: number;
  /** Requests started in the window, this one included. */
  requests: number;
  /** Tokens settled in the window. */
  tokens: number;
}

/** What refused a call, and the state the refusing write found. */
export interface RateRefusal {
  dimension: RateDimension;
  state: RateState;
}

/** Milliseconds until the window of `state` ends. */
function untilReset(state: RateState, now: number): number {
  return Math.max(0, (state.window + 1) * RATE_WINDOW_MS - now);
}

/** How long a refused caller should wait before a retry may succeed. */
export function retryAfterMs(refusal: RateRefusal, now: number): number {
  return refusal.dimension === "concurrency"
    ? CONCURRENCY_RETRY_MS
    : Math.max(1, untilReset(refusal.state, now));
}

/**
 * OpenAI's headers for a key's limits (x-ratelimit-limit-requests, …-remaining-…,
 * …-reset-…, and the same for tokens), for the limits that are set.
 */
export function rateLimitHeaders(state: RateState, now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  const reset = formatDuration(untilReset(state, now));
  const set = (name: "requests" | "tokens", limit: number | undefined, used: number) => {
    if (!limit) return;
    headers[`x-ratelimit-limit-${name}`] = String(limit);
    headers[`x-ratelimit-remaining-${name}`] = String(Math.max(0, limit - used));
    headers[`x-ratelimit-reset-${name}`] = reset;
  };
  set("requests", state.limits.rpm, state.requests);
  set("tokens", state.limits.tpm, state.tokens);
  return headers;
}

/** A duration as OpenAI writes its resets: "20ms", "1s", "8.64s", "6m0s". */
export function formatDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1_000) return `${whole}ms`;
  if (whole < 60_000) return `${Number((whole / 1_000).toFixed(3))}s`;
  const minutes = Math.floor(whole / 60_000);
  return `${minutes}m${Number(((whole - minutes * 60_000) / 1_000).toFixed(3))}s`;
}
