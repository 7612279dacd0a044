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
