import { describe, expect, it } from "vitest";
import {
  callLimits,
  effectiveLimits,
  formatDuration,
  RATE_WINDOW_MS,
  type RateState,
  rateStanding,
  retryAfterMs,
} from "../../shared/billing/rate-limits";
import { rateLimitHeaders as headersOf } from "../../shared/http/rate-limit-headers";

/** What the limits leave (the ledger's part), as the rim's headers tell it. */
const rateLimitHeaders = (states: RateState | RateState[], now: number) =>
  headersOf(rateStanding(states, now));

describe("rate limits", () => {
  it("take each of a key's overrides over its group's, 0 lifting one, and none when none is set", () => {
    expect(effectiveLimits(undefined, undefined)).toBeUndefined();
    expect(effectiveLimits({}, {})).toBeUndefined();
    expect(effectiveLimits({ rpm: 0 }, undefined)).toBeUndefined();
    expect(effectiveLimits({ rpm: 10, tpm: 1_000 }, { rpm: 50, concurrency: null })).toEqual({
      rpm: 50,
      tpm: 1_000,
    });
    expect(effectiveLimits({ rpm: 10, concurrency: 2 }, { rpm: 0 })).toEqual({ concurrency: 2 });
  });

  it("take a user's own over their group's, over the operator's default; hold first but for that default alone", () => {
    const userDefaults = { concurrency: 50 };
    // The default alone: counted, but the hold overlaps the upstream request.
    expect(callLimits({ userDefaults })).toEqual({
      user: { concurrency: 50 },
      holdFirst: false,
    });
    expect(callLimits({ userDefaults: {} })).toBeUndefined();
    expect(callLimits({ userDefaults, user: { concurrency: 0 } })).toBeUndefined();
    expect(callLimits({ userDefaults, groupUser: { rpm: 5 } })).toEqual({
      user: { rpm: 5, concurrency: 50 },
      holdFirst: true,
    });
    expect(
      callLimits({ userDefaults, groupUser: { rpm: 5, concurrency: 4 }, user: { rpm: 0 } }),
    ).toEqual({ user: { concurrency: 4 }, holdFirst: true });
    expect(callLimits({ userDefaults, groupKey: { tpm: 100 } })).toEqual({
      key: { tpm: 100 },
      user: { concurrency: 50 },
      holdFirst: true,
    });
  });

  it("tell of the key's or the user's limit, whichever leaves less", () => {
    const window = 1_000;
    const now = window * RATE_WINDOW_MS + 45_000;
    const key = { limits: { rpm: 10, tpm: 500 }, window, requests: 2, tokens: 450, inFlight: 1 };
    const user = { limits: { rpm: 5 }, window, requests: 4, tokens: 0, inFlight: 1 };
    expect(rateLimitHeaders([key, user], now)).toEqual({
      "x-ratelimit-limit-requests": "5",
      "x-ratelimit-remaining-requests": "1",
      "x-ratelimit-reset-requests": "15s",
      "x-ratelimit-limit-tokens": "500",
      "x-ratelimit-remaining-tokens": "50",
      "x-ratelimit-reset-tokens": "15s",
    });
  });

  it("write resets as OpenAI does", () => {
    expect(formatDuration(20)).toBe("20ms");
    expect(formatDuration(0.4)).toBe("1ms");
    expect(formatDuration(1_000)).toBe("1s");
    expect(formatDuration(8_640)).toBe("8.64s");
    expect(formatDuration(360_000)).toBe("6m0s");
    expect(formatDuration(61_500)).toBe("1m1.5s");
  });

  it("say what a window leaves, for the limits that are set", () => {
    const window = 1_000;
    const now = window * RATE_WINDOW_MS + 45_000;
    const state = { limits: { rpm: 3, tpm: 100 }, window, requests: 3, tokens: 140, inFlight: 1 };
    expect(rateLimitHeaders(state, now)).toEqual({
      "x-ratelimit-limit-requests": "3",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "15s",
      "x-ratelimit-limit-tokens": "100",
      "x-ratelimit-remaining-tokens": "0",
      "x-ratelimit-reset-tokens": "15s",
    });
    expect(rateLimitHeaders({ ...state, limits: { concurrency: 2 } }, now)).toEqual({});
    expect(retryAfterMs({ dimension: "rpm", state }, now)).toBe(15_000);
    expect(retryAfterMs({ dimension: "concurrency", state }, now)).toBe(1_000);
  });
});
