import { RATE_DIMENSIONS, type RateLimits } from "../billing/rate-limits";
import { isObject } from "../http/body";
import { field, invalid } from "./envelope";

/** Limits an admin may set, at most (a guard against typos that would never bind). */
const MAX_LIMIT = 1_000_000_000;

/**
 * Reads `{"rpm", "tpm", "concurrency"}` at `name`: whole numbers, 0 for no limit. Only the
 * limits set are kept; anything else is a 400 naming the field.
 */
export function rateLimitsField(value: unknown, name: string): RateLimits {
  if (!isObject(value)) throw invalid(`${name} must be an object of rpm, tpm and concurrency.`);
  const unknown = Object.keys(value).filter(
    (dimension) => !(RATE_DIMENSIONS as readonly string[]).includes(dimension),
  );
  if (unknown.length > 0)
    throw invalid(`${name} takes rpm, tpm and concurrency only, not ${unknown.join(", ")}.`);
  const limits: RateLimits = {};
  for (const dimension of RATE_DIMENSIONS) {
    const path = `${name}.${dimension}`;
    const limit = field.integer({ [path]: value[dimension] }, path, { min: 0, max: MAX_LIMIT });
    if (limit !== undefined) limits[dimension] = limit;
  }
  return limits;
}

/**
 * `group_rate_limits` (each key's) or `group_user_rate_limits` (each user's): group name to
 * its limits; groups left out have none.
 */
export function groupRateLimits(value: unknown, name: string): Record<string, RateLimits> {
  if (!isObject(value)) throw invalid(`${name} must map group names to limits.`);
  return Object.fromEntries(
    Object.entries(value).map(([group, limits]) => [
      group,
      rateLimitsField(limits, `${name}.${group}`),
    ]),
  );
}

/**
 * `rate_limits` of a key or a user: overrides of its group's (0: none), or null to follow
 * the group's again ({} stored). Only an admin sets them: they bound what a user may spend
 * at once.
 */
export function rateLimitOverrides(value: unknown): RateLimits {
  return value === null ? {} : rateLimitsField(value, "rate_limits");
}
