import { systemClock } from "../../clock";

/** Retry-After in ms: delay-seconds or an HTTP date (RFC 9110); undefined when absent or bad. */
export function parseRetryAfter(value: string | null, now = systemClock.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP date form starts with the day's name; Date.parse alone takes "-5" for a year.
  const date = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
