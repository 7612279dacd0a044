import { describe, expect, it } from "vitest";
import { loadSettings } from "../../shared/config/settings";
import { Timing } from "../../shared/http/timing";
import { estimatedAnswer } from "../../shared/relay/estimate";
import { GenerationRates } from "../../shared/relay/generation-rates";
import { answerTimeoutMs } from "../../shared/relay/model-timeouts";
import {
  type AttemptResult,
  fetchUpstream,
  openUpstream,
  RequestNotSent,
  type UpstreamFetch,
  type UpstreamResponse,
} from "../../shared/relay/upstream";
import { newChannelRecord } from "../../shared/store/channels";

const channels = ["a", "b"].map((id) =>
  newChannelRecord({ id, baseUrl: `http://${id}.invalid/v1`, models: ["m"] }),
);

function answer(status: number, headers: Record<string, string> = {}): UpstreamResponse {
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: { get: (name) => headers[name.toLowerCase()] ?? null },
    body: null,
    text: async () => "{}",
    arrayBuffer: async () => new ArrayBuffer(0),
  };
}

type Step = (init: Parameters<UpstreamFetch>[1]) => Promise<UpstreamResponse>;

/** A fetch that plays one step per request, and records which channel each went to. */
function scripted(...steps: Step[]) {
  const asked: string[] = [];
  const fetch: UpstreamFetch = (url, init) => {
    asked.push(new URL(url).hostname.split(".")[0] as string);
    const step = steps.shift();
    if (!step) throw new Error("no more steps");
    return step(init);
  };
  return { fetch, asked };
}

const sent =
  (then: (init: Parameters<UpstreamFetch>[1]) => Promise<UpstreamResponse>): Step =>
  (init) => {
    init.onSent?.();
    return then(init);
  };
const answers = (status: number, headers?: Record<string, string>) =>
  sent(async () => answer(status, headers));
const refused: Step = async () => {
  throw new RequestNotSent(
    Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
  );
};
const dropped = sent(async () => {
  throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
});
/** Written, then never answered until aborted. */
const silent = sent(
  (init) =>
    new Promise((_, reject) =>
      init.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
    ),
);

function open(fetch: UpstreamFetch, headerTimeoutMs = 1_000) {
  const reports: [string, AttemptResult][] = [];
  const opening = openUpstream(
    channels,
    () => ({ path: "/chat/completions", model: "m", upstreamModel: "m", json: {} }),
    "m",
    {
      fetch,
      connectTimeoutMs: 1_000,
      headerTimeoutMs: () => headerTimeoutMs,
      retries: 2,
      timing: new Timing(performance.now()),
      report: (channel, result) => reports.push([channel.id, result]),
    },
  );
  return { opening, reports };
}

describe("openUpstream: what may be sent again", () => {
  const notProcessed: [string, Step][] = [
    ["a connection refused before sending", refused],
    ["a 429", answers(429)],
    ["a 503 with Retry-After", answers(503, { "retry-after": "2" })],
    ["a 529", answers(529)],
    ["a refused key (401)", answers(401)],
  ];
  for (const [what, first] of notProcessed) {
    it(`tries the next channel after ${what}`, async () => {
      const { fetch, asked } = scripted(first, answers(200));
      const { opening } = open(fetch);
      const opened = await opening;
      expect(opened.late).toBeUndefined();
      expect(opened.channel.id).toBe("b");
      expect(asked).toEqual(["a", "b"]);
    });
  }

  const processed: [string, Step, number][] = [
    ["a 500", answers(500), 500],
    ["a 502", answers(502), 502],
    ["a 503 without Retry-After", answers(503), 503],
    ["a connection dropped after sending", dropped, 0],
  ];
  for (const [what, first, status] of processed) {
    it(`sends nothing again after ${what}`, async () => {
      const { fetch, asked } = scripted(first, answers(200));
      const { opening, reports } = open(fetch);
      const error = await opening.catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: "unreachable" });
      if (status) expect(error).toMatchObject({ details: { status } });
      expect(asked).toEqual(["a"]);
      expect(reports).toEqual([["a", expect.objectContaining({ ok: false, kind: "failure" })]]);
    });
  }

  it("a 503 with Retry-After rests the (channel, model) for that long", async () => {
    const { fetch } = scripted(answers(503, { "retry-after": "7" }), answers(200));
    const { opening, reports } = open(fetch);
    await opening;
    expect(reports[0]).toEqual([
      "a",
      expect.objectContaining({ ok: false, kind: "rate_limited", retryAfterMs: 7_000 }),
    ]);
  });

  it("a request not written within the connect timeout goes to the next channel", async () => {
    const hung: Step = (init) =>
      new Promise((_, reject) =>
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    const { fetch, asked } = scripted(hung, answers(200));
    const opened = await openUpstream(
      channels,
      () => ({ path: "/chat/completions", model: "m", upstreamModel: "m", json: {} }),
      "m",
      {
        fetch,
        connectTimeoutMs: 20,
        headerTimeoutMs: () => 60_000,
        retries: 2,
        timing: new Timing(performance.now()),
      },
    );
    expect(opened.channel.id).toBe("b");
    expect(asked).toEqual(["a", "b"]);
  });

  it("a request written and not answered within the header timeout comes back late, still running, and is sent nowhere else", async () => {
    let answerNow!: () => void;
    const slow = sent(
      () =>
        new Promise((resolve) => {
          answerNow = () => resolve(answer(200));
        }),
    );
    const { fetch, asked } = scripted(slow, answers(200));
    const { opening, reports } = open(fetch, 20);
    const opened = await opening;
    expect(opened.late).toBe(true);
    if (!opened.late) return;
    expect(asked).toEqual(["a"]);
    expect(reports).toEqual([["a", { ok: false, kind: "failure", detail: "timed out" }]]);
    answerNow();
    expect((await opened.answer).status).toBe(200);
  });

  it("the late request can still be aborted", async () => {
    const { fetch } = scripted(silent);
    const { opening } = open(fetch, 20);
    const opened = await opening;
    if (!opened.late) throw new Error("expected a late upstream");
    opened.abort();
    await expect(opened.answer).rejects.toBeDefined();
  });
});

describe("fetchUpstream (Node's fetch)", () => {
  it("counts every request as sent at once, and a refused connection as not sent", async () => {
    let sentCount = 0;
    const failing = fetchUpstream((async () => {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      });
    }) as typeof globalThis.fetch);
    const error = await failing("http://x.invalid", {
      method: "GET",
      headers: {},
      onSent: () => sentCount++,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestNotSent);
    expect(sentCount).toBe(1);

    const reset = fetchUpstream((async () => {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
      });
    }) as typeof globalThis.fetch);
    const later = await reset("http://x.invalid", { method: "GET", headers: {} }).catch(
      (e: unknown) => e,
    );
    expect(later).not.toBeInstanceOf(RequestNotSent);
  });
});

describe("GenerationRates", () => {
  it("uses the default until it has learned, then a recency-weighted mean by tokens", () => {
    const rates = new GenerationRates(100);
    expect(rates.of("c", "m")).toEqual({ tokensPerSecond: 100, learned: false, reasons: false });
    rates.learn("c", "m", { tokens: 1_000, ms: 2_000, reasons: false });
    expect(rates.of("c", "m")).toMatchObject({ tokensPerSecond: 500, learned: true });
    rates.learn("c", "m", { tokens: 1_000, ms: 1_000, reasons: true });
    // (0.8 × 1000 + 1000) / (0.8 × 2 s + 1 s)
    expect(rates.of("c", "m").tokensPerSecond).toBeCloseTo(1_800 / 2.6, 6);
    expect(rates.of("c", "m").reasons).toBe(true);
    // Another channel, or model, knows nothing of it.
    expect(rates.of("d", "m").learned).toBe(false);
    expect(rates.of("c", "n").learned).toBe(false);
  });

  it("ignores answers too short to say how fast a model is, but keeps that it reasons", () => {
    const rates = new GenerationRates(100);
    rates.learn("c", "m", { tokens: 5, ms: 900, reasons: true });
    expect(rates.of("c", "m")).toEqual({ tokensPerSecond: 100, learned: false, reasons: true });
  });
});

describe("estimatedAnswer", async () => {
  const rate = { tokensPerSecond: 200, learned: true, reasons: false };

  it("bills a reasoning model's silence as reasoning at its rate, and the text it sent as output", async () => {
    expect(
      await estimatedAnswer(
        { text: "", reasoningText: "", silentMs: 2_500 },
        { name: "gpt-4o", rate, reasoningModel: true },
      ),
    ).toEqual({ reasoningTokens: 500 });
    const withText = await estimatedAnswer(
      { text: "Hello there, world.", reasoningText: "", silentMs: 1_000 },
      { name: "gpt-4o", rate: { ...rate, reasons: true }, reasoningModel: false },
    );
    expect(withText.reasoningTokens).toBe(200);
    expect(withText.outputTokens).toBeGreaterThan(0);
  });

  it("does not bill a stream's wait for the first token of a model that does not reason", async () => {
    expect(
      await estimatedAnswer(
        { text: "", reasoningText: "", silentMs: 3_000 },
        { name: "gpt-4o", rate, reasoningModel: false },
      ),
    ).toEqual({});
  });

  it("bills an unstreamed answer's whole time as output for a model that does not reason", async () => {
    expect(
      await estimatedAnswer(
        { text: "", reasoningText: "", silentMs: 3_000, unstreamed: true },
        { name: "gpt-4o", rate, reasoningModel: false },
      ),
    ).toEqual({ outputTokens: 600 });
  });

  it("never estimates more than the hold covers", async () => {
    expect(
      await estimatedAnswer(
        { text: "", reasoningText: "", silentMs: 60_000 },
        { name: "gpt-4o", rate, reasoningModel: true, cap: 1_000 },
      ),
    ).toEqual({ reasoningTokens: 1_000 });
  });
});

describe("answer timeouts per model", () => {
  const settings = loadSettings({
    SLUICE_UPSTREAM_TIMEOUT_MS: "300000",
    SLUICE_UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "200000",
    SLUICE_UPSTREAM_MODEL_TIMEOUTS: "o3-pro=800,o3*=400,o*=100,my-alias=50",
  });

  it("takes the upstream's name, then the client's; an exact name, then the longest prefix", () => {
    const of = (upstream: string, client = upstream, stream = false) =>
      answerTimeoutMs(settings, { upstream, client }, stream);
    expect(of("o3-pro")).toBe(800_000);
    expect(of("o3-mini")).toBe(400_000);
    expect(of("o4-mini")).toBe(100_000);
    expect(of("gpt-4.1")).toBe(300_000);
    expect(of("gpt-4.1", "gpt-4.1", true)).toBe(200_000);
    expect(of("gpt-4.1", "my-alias")).toBe(50_000);
  });

  it("keeps every timeout a minute inside the API function's 15 minutes", () => {
    const long = loadSettings({
      SLUICE_UPSTREAM_TIMEOUT_MS: String(3_600_000),
      SLUICE_UPSTREAM_MODEL_TIMEOUTS: "o3-pro=3600",
    });
    expect(long.upstreamTimeoutMs).toBe(840_000);
    expect(long.upstreamModelTimeoutsMs["o3-pro"]).toBe(840_000);
  });

  it("refuses a per-model timeout it cannot read", () => {
    expect(() => loadSettings({ SLUICE_UPSTREAM_MODEL_TIMEOUTS: "o3-pro" })).toThrow(
      /model=seconds/,
    );
    expect(() => loadSettings({ SLUICE_UPSTREAM_MODEL_TIMEOUTS: "o3-pro=1.5" })).toThrow(
      /model=seconds/,
    );
  });
});

describe("openUpstream: the caller's resend to the same channel", () => {
  const build = () => ({ path: "/responses", model: "m", upstreamModel: "m", json: {} });
  const options = (
    fetch: UpstreamFetch,
    resend: NonNullable<Parameters<typeof openUpstream>[3]["resend"]>,
    reports: [string, AttemptResult][] = [],
  ) => ({
    fetch,
    connectTimeoutMs: 1_000,
    headerTimeoutMs: () => 1_000,
    retries: 0,
    timing: new Timing(performance.now()),
    report: (channel: { id: string }, result: AttemptResult) => reports.push([channel.id, result]),
    resend,
  });

  it("sends the changed call once, to the same channel, as no attempt; only its outcome is reported", async () => {
    const { fetch, asked } = scripted(answers(404), answers(200));
    const reports: [string, AttemptResult][] = [];
    const seen: number[] = [];
    const opened = await openUpstream(
      channels,
      build,
      "m",
      options(
        fetch,
        (_channel, call, { status }) => {
          seen.push(status);
          return { call: { ...call, path: "/chat/completions" }, why: "no such path" };
        },
        reports,
      ),
    );
    // retries: 0, yet the resend went: it is not an attempt.
    expect(asked).toEqual(["a", "a"]);
    expect(seen).toEqual([404]);
    expect(!opened.late && opened.call?.path).toBe("/chat/completions");
    expect(reports).toEqual([["a", { ok: true }]]);
  });

  it("is asked once: a second refusal is the client's answer", async () => {
    const { fetch, asked } = scripted(answers(404), answers(404), answers(200));
    let asks = 0;
    const error = await openUpstream(
      channels,
      build,
      "m",
      options(fetch, (_channel, call) => {
        asks++;
        return { call, why: "again" };
      }),
    ).catch((err: unknown) => err);
    expect(asks).toBe(1);
    expect(asked).toEqual(["a", "a"]);
    expect(error).toMatchObject({ kind: "client_error" });
  });

  it("what it throws is the call's error, not a dropped connection's; nothing else is sent", async () => {
    const { fetch, asked } = scripted(answers(404), answers(200));
    const reports: [string, AttemptResult][] = [];
    const refusedByBridge = new Error("input: item_reference cannot be bridged");
    const error = await openUpstream(
      channels,
      build,
      "m",
      options(
        fetch,
        () => {
          throw refusedByBridge;
        },
        reports,
      ),
    ).catch((err: unknown) => err);
    expect(error).toBe(refusedByBridge);
    expect(asked).toEqual(["a"]);
    expect(reports).toEqual([]);
  });
});
