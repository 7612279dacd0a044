/**
 * Rate limits as the balance writes count them (store/accounts.ts): requests and tokens in
 * fixed windows of a minute, and calls in flight, on each rated item. billing/rate-limits.ts
 * reads these to say what is left and how long to wait.
 */

/** Rate limits are counted in windows of a minute (billing/rate-limits.ts reads them). */
export const RATE_WINDOW_MS = 60_000;

/** The window a time falls in (minutes since the epoch). */
export function windowOf(ms: number): number {
  return Math.floor(ms / RATE_WINDOW_MS);
}

/** Whether limits count requests or tokens in minute windows (not only calls at once). */
export function windowed(limits: RateCheck | undefined): boolean {
  return !!(limits?.rpm || limits?.tpm);
}

/** Limits a hold is taken under (see billing/rate-limits.ts). */
export interface RateCheck {
  rpm?: number;
  tpm?: number;
  concurrency?: number;
}

/** A hold under rate limits: the limits, and the call's token bound (counted at once). */
export interface RateTake {
  limits: RateCheck;
  tokens: number;
}

/** What a give-back takes back from the counters its take added to. */
export interface RateGive {
  /** The take was an account's counted hold (its call in flight, cn). */
  counted?: boolean;
  /**
   * The window the take counted the call in, and what to add to it there (the usage less
   * the bound; a request taken back): left alone once the item is in a later window.
   */
  window?: { w: number; requests: number; tokens: number };
}

/** An item's counters: the window, its requests begun (this one included) and tokens. */
export interface RateCount {
  window: number;
  requests: number;
  tokens: number;
  /** Its calls in flight. */
  inFlight: number;
}

/** A hold refused by a rate limit; `found` is what the refusing write saw. */
export class RateRefused extends Error {
  constructor(
    readonly dimension: keyof RateCheck,
    readonly found: RateCount,
  ) {
    super(`rate limit: ${dimension}`);
    this.name = "RateRefused";
  }
}
