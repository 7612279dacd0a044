import { formatDuration } from "../billing/rate-limits";
import type { RateStanding } from "../errors";

/**
 * OpenAI's headers for what rate limits leave (x-ratelimit-limit-requests,
 * …-remaining-…, …-reset-…, and the same for tokens), for the limits that are set.
 */
export function rateLimitHeaders(standing: RateStanding | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ["requests", "tokens"] as const) {
    const left = standing?.[name];
    if (!left) continue;
    headers[`x-ratelimit-limit-${name}`] = String(left.limit);
    headers[`x-ratelimit-remaining-${name}`] = String(left.remaining);
    headers[`x-ratelimit-reset-${name}`] = formatDuration(left.resetMs);
  }
  return headers;
}

/**
 * Anthropic's headers for the same limits (anthropic-ratelimit-requests-limit, …-remaining,
 * …-reset, and the same for tokens), sent beside OpenAI's on the Messages API. Anthropic's
 * reset is an RFC 3339 time, not a duration.
 */
export function anthropicRateLimitHeaders(
  standing: RateStanding | undefined,
  now = Date.now(),
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ["requests", "tokens"] as const) {
    const left = standing?.[name];
    if (!left) continue;
    const reset = new Date(Math.ceil((now + left.resetMs) / 1000) * 1000);
    headers[`anthropic-ratelimit-${name}-limit`] = String(left.limit);
    headers[`anthropic-ratelimit-${name}-remaining`] = String(left.remaining);
    headers[`anthropic-ratelimit-${name}-reset`] = reset.toISOString().replace(".000Z", "Z");
  }
  return headers;
}
