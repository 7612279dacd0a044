import { describe, expect, it } from "vitest";
import { ModelUnavailable, UpstreamRejected } from "../../shared/errors";
import { statusOf, toApiError } from "../../shared/http/error-mapping";
import { parseRetryAfter } from "../../shared/relay/upstream";

describe("Retry-After", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads delay-seconds and HTTP dates, in ms", () => {
    expect(parseRetryAfter("30", now)).toBe(30_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:20 GMT", now)).toBe(20_000);
    // A date in the past means now.
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
  });

  it("ignores what is absent or not a Retry-After", () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-5", now)).toBeUndefined();
    expect(parseRetryAfter("1.5", now)).toBeUndefined();
  });
});

describe("a model no channel can serve right now", () => {
  it("is a 503 the SDKs retry after Retry-After while channels cool down", () => {
    const err = toApiError(new ModelUnavailable("m", "resting", "busy", 7));
    expect(err).toMatchObject({
      status: 503,
      type: "server_error",
      code: "model_unavailable",
      headers: { "retry-after": "7", "x-should-retry": "true" },
    });
  });

  it("is a 503 not worth retrying when only an admin can bring a channel back", () => {
    const err = toApiError(new ModelUnavailable("m", "resting", "off"));
    expect(err?.status).toBe(503);
    expect(err?.headers).toEqual({ "x-should-retry": "false" });
  });

  it("answers every upstream's 429 as sluice's 503, with the cool-down as Retry-After", () => {
    const err = toApiError(new UpstreamRejected("rate_limited", "slow", { retryAfter: "12" }));
    expect(err).toMatchObject({
      status: 503,
      headers: { "retry-after": "12", "x-should-retry": "true" },
    });
    expect(statusOf(new UpstreamRejected("rate_limited", "slow"))).toBe(503);
  });

  it("leaves a model no channel offers at 404", () => {
    expect(toApiError(new ModelUnavailable("m", "unknown", "no such model"))?.status).toBe(404);
  });
});
