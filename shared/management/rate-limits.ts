import { RATE_DIMENSIONS, type RateLimits } from "../billing/rate-limits";
import { isObject } from "../http/body";
import { msg } from "../messages/codes";
import { field, invalid } from "./envelope";

/** Limits an admin may set, at most (a guard against typos that would never bind). */
const MAX_LIMIT = 1_000_000_000;

/**
 * Reads `{"rpm", "tpm", "concurrency"}` at `name`: whole numbers, 0 for no limit. Only the
 * limits set are kept; anything else is a 400 naming the field.
 */
export function rateLimitsField(value: unknown, name: string): RateLimits {
  if (!isObject(value)) throw invalid(msg("rate_limits_not_object", { field: name }));
  const unknown = Object.keys(value).filter(
    (dimension) => !(RATE_DIMENSIONS as readonly string[]).includes(dimension),
  );
  if (unknown.length > 0)
    throw invalid(msg("rate_limits_unknown", { field: name, unknown: unknown.join(", ") }));
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
  if (!isObject(value)) throw invalid(msg("group_rate_limits_not_object", { field: name }));
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
