/**
 * Rate limits: requests per minute, tokens per minute and calls at once, of each key and of
 * each user (all their keys together). An admin sets a key's per user group (in the price
 * list) and may override them per key; a user's likewise per group and per user, over the
 * operator's default (SLUICE_USER_CONCURRENCY). They are counted by the hold's own writes
 * (store/accounts.ts) on the key's item and on the user's account, in fixed windows of one
 * minute, so enforcing them costs no round trip of its own.
 */
import type { RateStanding } from "../errors";
import { RATE_WINDOW_MS, windowed, windowOf } from "../store/rate-windows";

export interface RateLimits {
  /** Requests that may start per minute. */
  rpm?: number;
  /**
   * Tokens per minute: a call counts its token bound (prompt bound + max output) when it is
   * held, and its real usage once it settles.
   */
  tpm?: number;
  /** Calls that may be in flight at once. */
  concurrency?: number;
}

export type RateDimension = keyof RateLimits;
export const RATE_DIMENSIONS: readonly RateDimension[] = ["rpm", "tpm", "concurrency"];

/** An override of one limit: a number, or 0 for none (null or absent: the group's). */
export type RateLimitOverrides = { [D in RateDimension]?: number | null };

/** The window limits are counted in, kept with the counters themselves (store/rate-windows.ts). */
export { RATE_WINDOW_MS, windowed, windowOf };

/** How long a caller refused for concurrency is told to wait: a slot frees when a call ends. */
const CONCURRENCY_RETRY_MS = 1_000;

/**
 * The limits in force: each override where set (0: no limit), else the group's, else the
 * default's. Undefined when none applies, so the call is counted nowhere.
 */
export function effectiveLimits(
  group: RateLimits | undefined,
  overrides: RateLimitOverrides | undefined,
  defaults?: RateLimits,
): RateLimits | undefined {
  const limits: RateLimits = {};
  for (const dimension of RATE_DIMENSIONS) {
    const value = overrides?.[dimension] ?? group?.[dimension] ?? defaults?.[dimension];
    if (value) limits[dimension] = value;
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/** The limits one call is held under. */
export interface CallLimits {
  /** Its key's (the group's per key, and the key's overrides). */
  key?: RateLimits;
  /** Its user's, all their keys together (the default, the group's per user, the user's). */
  user?: RateLimits;
  /**
   * The hold completes before the upstream is called, so a refused call never reaches it:
   * whenever a limit is set, but not when the only one is the operator's default per-user
   * concurrency. That generous limit rarely refuses (and a refusal still aborts the upstream
   * request), and holding first would add a DynamoDB round trip to every call's first byte.
   */
  holdFirst: boolean;
}

/** Where a call's limits come from; undefined when none applies. */
export function callLimits(sources: {
  /** The operator's defaults per user (SLUICE_USER_CONCURRENCY). */
  userDefaults: RateLimits;
  groupKey?: RateLimits;
  key?: RateLimitOverrides;
  groupUser?: RateLimits;
  user?: RateLimitOverrides;
}): CallLimits | undefined {
  const key = effectiveLimits(sources.groupKey, sources.key);
  const user = effectiveLimits(sources.groupUser, sources.user, sources.userDefaults);
  if (!key && !user) return undefined;
  const chosen = effectiveLimits(sources.groupUser, sources.user) !== undefined;
  return { ...(key ? { key } : {}), ...(user ? { user } : {}), holdFirst: !!key || chosen };
}

/** A key's or user's counters in a window, as its hold's write left (or found) them. */
export interface RateState {
  limits: RateLimits;
  window: number;
  /** Requests started in the window, this one included. */
  requests: number;
  /** Tokens counted in the window: the bounds of calls in flight, the usage of those settled. */
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
 * What a call's limits leave (the rim tells it in OpenAI's x-ratelimit-* headers), for the
 * limits that are set. Of a key's and its user's, each of requests and tokens tells of the
 * one with less left.
 */
export function rateStanding(states: RateState | RateState[], now: number): RateStanding {
  const standing: RateStanding = {};
  const set = (name: "requests" | "tokens", of: (state: RateState) => [number?, number?]) => {
    let least: { limit: number; left: number; state: RateState } | undefined;
    for (const state of [states].flat()) {
      const [limit, used = 0] = of(state);
      if (!limit) continue;
      const left = Math.max(0, limit - used);
      if (!least || left < least.left) least = { limit, left, state };
    }
    if (!least) return;
    standing[name] = {
      limit: least.limit,
      remaining: least.left,
      resetMs: untilReset(least.state, now),
    };
  };
  set("requests", (state) => [state.limits.rpm, state.requests]);
  set("tokens", (state) => [state.limits.tpm, state.tokens]);
  return standing;
}

/** A duration as OpenAI writes its resets: "20ms", "1s", "8.64s", "6m0s". */
export function formatDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1_000) return `${whole}ms`;
  if (whole < 60_000) return `${Number((whole / 1_000).toFixed(3))}s`;
  const minutes = Math.floor(whole / 60_000);
  return `${minutes}m${Number(((whole - minutes * 60_000) / 1_000).toFixed(3))}s`;
}
