/**
 * What time it is, for code whose behaviour depends on it: expiries, windows, leases,
 * deadlines. Passed in (services.clock) rather than read from Date.now() where it decides,
 * so one place says where time comes from and a test can hold it.
 */
export interface Clock {
  /** Unix milliseconds. */
  now(): number;
  /** Whole unix seconds: the times sluice stores and shows. */
  seconds(): number;
}

/** The system's clock. */
export const systemClock: Clock = clockOf(() => Date.now());

/** A clock that reads `now` (unix milliseconds): a test's, say. */
export function clockOf(now: () => number): Clock {
  return { now, seconds: () => Math.floor(now() / 1000) };
}
