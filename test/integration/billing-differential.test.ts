/**
 * The differential proof of sluice's bills (issue 19): every call shape goes through sluice
 * (the shared local stack, the official openai SDK) to an upstream that charges as OpenAI
 * documents (test/fixtures/provider), with sluice priced at the provider's own list prices,
 * and sluice's bill for the call must match what the provider charged for it: within 2%, or
 * 10% where sluice can only estimate (no usage reported, a client that hung up, an upstream
 * that cut the stream or never answered in time). On every path each client request reaches
 * the upstream exactly once: a request the upstream has started generating is paid for.
 *
 * No expected number is typed here: the charge is the fixture's, the prices are the fixture's
 * table, the bill is sluice's usage log ($1 = 500,000 units).
 *
 * Set SLUICE_DIFFERENTIAL_REPORT=<file> to write the table of bill/charge per shape.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentWav } from "../fixtures/provider/audio";
import {
  type LedgerEntry,
  type Plan,
  type ProviderFixture,
  startProvider,
} from "../fixtures/provider/index";
import { pngDataUrl, solidPng } from "../fixtures/provider/png";
import { type Rates, ratesOf } from "../fixtures/provider/prices";
import {
  admin,
  api,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  setPrices,
  settledAccount,
} from "./support";

/** Quota units per USD (README, Money). */
const UNITS_PER_USD = 500_000;
/** Tolerances of the Done-when. */
const EXACT = 0.02;
const ESTIMATE = 0.1;
/**
 * Each shape costs at least this much, so that sluice's rounding up to a whole unit ($0.000002)
 * stays far inside the tolerance (under 0.4%).
 */
const MIN_CHARGE_USD = 0.0005;

/**
 * sluice's names for the provider's rates in PUT /api/pricing: today's API takes `input`,
 * `output`, `image`, `tts_per_million_chars` and `stt_per_minute` and ignores the others; the
 * per-kind rates of DESIGN-19 §2 go under these names. Adjust here if the API names them
 * otherwise.
 */
const SLUICE_RATE_FIELDS: Partial<Record<keyof Rates, string>> = {
  input: "input",
  output: "output",
  cachedInput: "cached_input",
  reasoning: "reasoning",
  audioInput: "audio_input",
  audioOutput: "audio_output",
  imageInput: "image_input",
  cachedImageInput: "cached_image_input",
  imageOutput: "image_output",
  cacheWrite: "cache_write",
  perCall: "per_call",
  perMillionCharacters: "tts_per_million_chars",
  perMinute: "stt_per_minute",
};

/** The provider's price of `model` as sluice's price list says it. */
function sluicePrice(model: string): Record<string, unknown> {
  const rates = ratesOf(model);
  const price: Record<string, unknown> = {};
  for (const [kind, field] of Object.entries(SLUICE_RATE_FIELDS)) {
    const rate = rates[kind as keyof Rates];
    if (typeof rate === "number") price[field as string] = rate;
  }
  // sluice keys per-image prices by size, then quality; the provider's list by quality first.
  if (rates.perImage) {
    const bySize: Record<string, Record<string, number>> = {};
    for (const [quality, sizes] of Object.entries(rates.perImage))
      for (const [size, usd] of Object.entries(sizes))
        bySize[size] = { ...bySize[size], [quality]: usd };
    price.image = bySize;
  }
  return price;
}

const REAL_MODELS = [
  "gpt-4o-mini",
  "gpt-4o",
  "gpt-4.1",
  "gpt-4.1-mini",
  "gpt-5-mini",
  "o4-mini",
  "gpt-4o-audio-preview",
  "gpt-image-1",
  "dall-e-3",
  "tts-1",
  "gpt-4o-mini-tts",
  "whisper-1",
  "gpt-4o-transcribe",
] as const;
type RealModel = (typeof REAL_MODELS)[number];

/**
 * Channels are global on the shared stack, so the client names are this file's own; the
 * channel maps each to the real model, which is how the provider knows its tokenizer and
 * rules. The client name starts with the real one, as sluice's own rules (reasoning models'
 * max_completion_tokens, image formulas) read names by prefix; sluice is priced for the client
 * name explicitly, so the bill does not depend on which name a mapping is billed by.
 */
const RUN = randomUUID().slice(0, 8);
const clientModel = (model: RealModel) => `${model}-diff-${RUN}`;

let provider: ProviderFixture;

interface Row {
  shape: string;
  model: RealModel;
  chargeUsd: number;
  billUsd: number;
  tolerance: number;
  clientRequests: number;
  upstreamRequests: number;
  note: string;
}
const rows: Row[] = [];

beforeAll(async () => {
  provider = await startProvider({ tokensPerSecond: 1000 });
  await admin("POST", "/api/channel", {
    name: `provider fixture ${RUN}`,
    base_url: provider.baseUrl,
    models: REAL_MODELS.map(clientModel),
    model_mapping: Object.fromEntries(REAL_MODELS.map((m) => [clientModel(m), m])),
  });
  await setPrices(Object.fromEntries(REAL_MODELS.map((m) => [clientModel(m), sluicePrice(m)])));
});

afterAll(async () => {
  if (process.env.SLUICE_DIFFERENTIAL_REPORT) writeReport(process.env.SLUICE_DIFFERENTIAL_REPORT);
  expect(provider.errors).toEqual([]);
  await provider.close();
});

/** Reads a stream to its end (or its error). */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of stream) void chunk;
}

/** A fresh nonce the provider answers by `plan`. */
function planned(plan: Plan): string {
  const tag = nonce();
  provider.plan(tag, plan);
  return tag;
}

const nonce = () => `N${randomUUID().replaceAll("-", "").slice(0, 12)}`;

/** A fresh user and the SDK on one of their keys: the user's log holds this shape's calls only. */
async function caller() {
  const user = await createUserWithKey();
  return { user, client: openai(user.secret, { timeout: 120_000 }) };
}

/** sluice's bill for the user's calls, in USD, once each is logged and settled. */
async function billOf(user: { id: string; accessToken: string }, calls: number): Promise<number> {
  const lines = async (): Promise<Json[]> =>
    (await api(user.accessToken, "GET", "/api/log/self?size=50")).body.data.filter(
      (l: Json) => l.type === "consume",
    );
  await eventually(lines, (found) => found.length >= calls, 20_000);
  await settledAccount(user.id);
  return (await lines()).reduce((sum, l) => sum + l.quota, 0) / UNITS_PER_USD;
}

/**
 * Measures one shape: `run` makes `clientRequests` calls (each with `tag` in its body) as a fresh
 * user; the provider's charge for them is compared with sluice's bill.
 */
async function measure(
  shape: string,
  model: RealModel,
  tolerance: number,
  run: (client: ReturnType<typeof openai>, tag: string) => Promise<unknown>,
  options: { clientRequests?: number; tag?: string } = {},
) {
  const tag = options.tag ?? planned({});
  const clientRequests = options.clientRequests ?? 1;
  const { user, client } = await caller();
  let note = "";
  await run(client, tag).catch((err: Json) => {
    note = `client got ${err?.status ?? err?.name ?? "an error"}`;
  });
  const entries: LedgerEntry[] = await provider.entriesFor(tag);
  const chargeUsd = entries.reduce((sum, e) => sum + e.usd, 0);
  // A call refused before the upstream has no line to wait for.
  const billUsd = await billOf(user, entries.length > 0 ? clientRequests : 0);
  rows.push({
    shape,
    model,
    chargeUsd,
    billUsd,
    tolerance,
    clientRequests,
    upstreamRequests: entries.length,
    note,
  });
  // The harness itself: the call reached the provider and cost enough to measure.
  expect(entries.length, `${shape}: upstream requests`).toBeGreaterThan(0);
  expect(chargeUsd, `${shape}: provider charge`).toBeGreaterThanOrEqual(MIN_CHARGE_USD);
  // One upstream request per client request: every body the provider saw, once.
  const perRequest = new Map<string, number>();
  for (const e of entries) perRequest.set(e.key, (perRequest.get(e.key) ?? 0) + 1);
  expect([...perRequest.values()], `${shape}: upstream requests per client request`).toEqual(
    new Array(clientRequests).fill(1),
  );
  const off = Math.abs(billUsd - chargeUsd) / chargeUsd;
  expect(
    off,
    `${shape}: sluice billed $${billUsd.toFixed(6)} for a $${chargeUsd.toFixed(6)} charge (×${(billUsd / chargeUsd).toFixed(3)})`,
  ).toBeLessThanOrEqual(tolerance);
}

/**
 * A site that serves a model has served it before: sluice bills the reasoning it cannot see
 * (a hang-up mid-reasoning) at the rate it learned from the model's recent calls on the
 * channel (README, Hang-ups). Two finished streamed calls, as another user, before the shape.
 */
async function servedBefore(model: RealModel): Promise<void> {
  const { client } = await caller();
  for (let i = 0; i < 2; i++) {
    const tag = planned({ reasoningTokens: 2000, reply: TEXTS.english });
    await drain(
      await client.chat.completions.create({
        model: clientModel(model),
        messages: [{ role: "user", content: `${tag}: summarise the quarterly review.` }],
        stream: true,
      }),
    );
  }
}

/** Long, varied English prose: ~10,000 tokens, deterministic (a long agent context). */
function longDocument(): string {
  const clauses = [
    "the ledger holds the most a call can cost before the upstream is asked",
    "a settlement moves the hold to the real cost once the answer is complete",
    "rate limits are counted per key and per user in one conditional write",
    "a channel that answers 429 rests for the time its Retry-After header names",
    "the janitor releases holds whose deadline passed without a settlement",
    "usage lines are written before the account moves, so the log never lags the balance",
    "batch lines run through the same code as the API, eight at a time",
    "every error reaches the client in the envelope of the API it called",
  ];
  const parts: string[] = [];
  for (let i = 0; parts.join(" ").length < 48_000; i++) {
    const clause = clauses[i % clauses.length] as string;
    parts.push(`Rule ${i + 1}: ${clause}, as section ${(i * 7) % 97} explains in detail.`);
  }
  return parts.join(" ");
}

const LONG_SYSTEM = longDocument();

const TEXTS = {
  english:
    "The quarterly review found that revenue grew eleven percent while shipping costs rose faster than anyone had forecast in January. The committee asked finance to revise the forecast by Friday, to model a second scenario in which fuel prices stay high through the summer, and to explain why the margin on the northern routes narrowed even though volumes held steady. Several members wanted to know whether the new warehouse had started to pay for itself, and whether the delays at the port were a passing problem or a sign that the contracts needed to be renegotiated before the next season began.",
  chinese:
    "季度审查发现，收入增长了百分之十一，但运输成本的上涨速度超过了一月份的任何预测。委员会要求财务部门在周五之前修订预测，并模拟燃油价格整个夏季居高不下的第二种情景，同时解释为什么北方航线的利润率在运量保持稳定的情况下仍然收窄。几位委员想知道新仓库是否已经开始收回成本，以及港口的延误只是暂时的问题，还是意味着需要在下一个季节开始之前重新谈判合同。",
  japanese:
    "四半期の見直しでは、売上は十一パーセント伸びたものの、輸送費は一月に誰が予測したよりも速く上昇していた。委員会は財務部に対し、金曜日までに予測を改訂し、燃料価格が夏の間ずっと高止まりする第二のシナリオを試算し、輸送量が安定していたにもかかわらず北部路線の利益率が縮小した理由を説明するよう求めた。何人かの委員は、新しい倉庫がすでに採算に乗り始めたのか、そして港での遅れが一時的な問題なのか、それとも次のシーズンが始まる前に契約を見直す必要がある兆しなのかを知りたがった。",
  korean:
    "분기 검토 결과 매출은 11퍼센트 늘었지만 운송 비용은 1월에 누구도 예상하지 못한 속도로 올랐다. 위원회는 재무팀에 금요일까지 전망을 수정하고, 연료 가격이 여름 내내 높은 수준을 유지하는 두 번째 시나리오를 만들며, 물동량이 안정적이었는데도 북부 노선의 이익률이 줄어든 이유를 설명해 달라고 요청했다. 몇몇 위원은 새 창고가 이미 비용을 회수하기 시작했는지, 그리고 항구의 지연이 일시적인 문제인지 아니면 다음 시즌이 시작되기 전에 계약을 다시 협상해야 한다는 신호인지 알고 싶어 했다.",
};

const CODE = `import { settle } from "./ledger";

export async function finish(call: Call, usage: Usage | undefined): Promise<number> {
  // Settle from the upstream's usage, or from our own count when it sent none.
  const metered = usage ? fromUsage(usage) : countLocally(call.deliveredText);
  const units = costInUnits(call.price, metered, [call.multiplier]);
  if (units > call.held) {
    log.warn({ held: call.held, units }, "upstream reported more than the hold");
    return settle(call.holdId, call.held, { shortfall: units - call.held });
  }
  return settle(call.holdId, units);
}

describe("finish", () => {
  it("settles to the usage", async () => {
    expect(await finish(fakeCall({ held: 500 }), { prompt_tokens: 10, completion_tokens: 5 })).toBe(12);
  });
});
`;

const TOOLS = [
  {
    type: "function" as const,
    function: {
      name: "run_tests",
      description: "Run the project's unit tests for one file and report the failures.",
      parameters: {
        type: "object",
        properties: {
          path: { type: "string", description: "The test file, relative to the repository root." },
          pattern: { type: "string", description: "Only the tests whose name matches." },
          reporter: {
            type: "string",
            description: "How to print the results.",
            enum: ["dot", "verbose", "json"],
          },
        },
        required: ["path"],
      },
    },
  },
  {
    type: "function" as const,
    function: {
      name: "read_file",
      description: "Read a file of the repository.",
      parameters: {
        type: "object",
        properties: { path: { type: "string", description: "The file to read." } },
        required: ["path"],
      },
    },
  },
];

describe("cache hits: the second turn of a conversation with a long shared prefix", () => {
  const families: [RealModel, number | undefined][] = [
    ["gpt-4o-mini", undefined],
    ["gpt-5-mini", 256],
    ["gpt-4.1", undefined],
  ];
  for (const [model, reasoningTokens] of families) {
    it(`${model}`, async () => {
      const first = nonce();
      provider.plan(first, { reasoningTokens });
      const { client } = await caller();
      const turn1 = [
        { role: "system" as const, content: LONG_SYSTEM },
        { role: "user" as const, content: `${first}: which rule covers holds?` },
      ];
      const answer = await client.chat.completions.create({
        model: clientModel(model),
        messages: turn1,
      });
      // The measured call: the conversation goes on; its prefix is cached upstream.
      const second = `${first}-turn2`;
      provider.plan(second, { reasoningTokens });
      await measure(
        `cache hit, 2nd turn (${model})`,
        model,
        EXACT,
        async (c, tag) => {
          const turn2 = await c.chat.completions.create({
            model: clientModel(model),
            messages: [
              ...turn1,
              { role: "assistant", content: answer.choices[0]?.message.content ?? "" },
              { role: "user", content: `${tag}: and which covers settlements?` },
            ],
          });
          // The shape is what it says: most of the prompt was a cache hit.
          expect(turn2.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(
            (turn2.usage?.prompt_tokens ?? 0) * 0.9,
          );
        },
        { tag: second },
      );
    }, 60_000);
  }
});

describe("reasoning", () => {
  it("plain (non-streamed)", async () => {
    const tag = planned({ reasoningTokens: 400, reply: "Holds are released by the janitor." });
    await measure(
      "reasoning, plain",
      "gpt-5-mini",
      EXACT,
      (client) =>
        client.chat.completions.create({
          model: clientModel("gpt-5-mini"),
          messages: [{ role: "user", content: `${tag}: who releases expired holds?` }],
        }),
      { tag },
    );
  }, 60_000);

  it("streamed (the client does not ask for usage)", async () => {
    const tag = planned({ reasoningTokens: 1500, reply: TEXTS.english });
    await measure(
      "reasoning, streamed",
      "gpt-5-mini",
      EXACT,
      async (client) => {
        const stream = await client.chat.completions.create({
          model: clientModel("gpt-5-mini"),
          messages: [{ role: "user", content: `${tag}: summarise the quarterly review.` }],
          stream: true,
        });
        await drain(stream);
      },
      { tag },
    );
  }, 60_000);

  it("the client hangs up mid-reasoning (charged what was reasoned until then)", async () => {
    await servedBefore("gpt-5-mini");
    const tag = planned({ reasoningTokens: 4000, reply: TEXTS.english });
    await measure(
      "client hang-up mid-reasoning",
      "gpt-5-mini",
      ESTIMATE,
      async (client) => {
        const controller = new AbortController();
        const stream = client.chat.completions.create(
          {
            model: clientModel("gpt-5-mini"),
            messages: [{ role: "user", content: `${tag}: think hard, then answer.` }],
            stream: true,
          },
          { signal: controller.signal },
        );
        await provider.reasoned(tag, 2000);
        controller.abort();
        await stream.then(
          (s) => drain(s),
          () => {},
        );
      },
      { tag },
    );
  }, 60_000);

  it("a non-streamed call answered after sluice's header timeout (the stack's for o4-mini is 2 s)", async () => {
    // 3,000 reasoning tokens at 1,000 a second: the answer's headers come after 3 s.
    const tag = planned({ reasoningTokens: 3000, reply: "Done." });
    await measure(
      "non-streamed past the header timeout",
      "o4-mini",
      ESTIMATE,
      (client) =>
        client.chat.completions.create({
          model: clientModel("o4-mini"),
          messages: [{ role: "user", content: `${tag}: a slow question.` }],
        }),
      { tag },
    );
  }, 90_000);
});

/** A chat call with audio in (6 s of silence) and an audio answer, as gpt-4o-audio-preview takes. */
function askAloud(client: ReturnType<typeof openai>, tag: string) {
  return client.chat.completions.create({
    model: clientModel("gpt-4o-audio-preview"),
    modalities: ["text", "audio"],
    audio: { voice: "alloy", format: "wav" },
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: `${tag}: answer this question aloud.` },
          {
            type: "input_audio",
            input_audio: { data: silentWav(6, 16_000).toString("base64"), format: "wav" },
          },
        ],
      },
    ],
  });
}

describe("audio, images and speech", () => {
  it("audio in and out (gpt-4o-audio-preview)", async () => {
    const tag = planned({ reply: TEXTS.english.slice(0, 180) });
    await measure(
      "audio in + out",
      "gpt-4o-audio-preview",
      EXACT,
      (client) => askAloud(client, tag),
      { tag },
    );
  }, 60_000);

  it("gpt-image-1, default quality and size", async () => {
    await measure("gpt-image-1, defaults (auto)", "gpt-image-1", EXACT, (client, tag) =>
      client.images.generate({ model: clientModel("gpt-image-1"), prompt: `${tag}: a red fox` }),
    );
  }, 60_000);

  it("gpt-image-1, explicit quality and size", async () => {
    await measure("gpt-image-1, medium 1024x1536", "gpt-image-1", EXACT, (client, tag) =>
      client.images.generate({
        model: clientModel("gpt-image-1"),
        prompt: `${tag}: a lighthouse at dusk`,
        quality: "medium",
        size: "1024x1536",
      }),
    );
  }, 60_000);

  it("gpt-image-1, size auto for a landscape", async () => {
    await measure("gpt-image-1, low, size auto (landscape)", "gpt-image-1", EXACT, (client, tag) =>
      client.images.generate({
        model: clientModel("gpt-image-1"),
        prompt: `${tag}: a wide mountain landscape`,
        quality: "low",
        size: "auto",
      }),
    );
  }, 60_000);

  it("dall-e-3, hd (control: billed per image)", async () => {
    await measure("dall-e-3 hd 1024x1792 (control)", "dall-e-3", EXACT, (client, tag) =>
      client.images.generate({
        model: clientModel("dall-e-3"),
        prompt: `${tag}: a tall ship`,
        quality: "hd",
        size: "1024x1792",
      }),
    );
  }, 60_000);

  const MULTIBYTE = `${TEXTS.chinese.slice(0, 80)} 😀👍🏽👩‍👩‍👧‍👦 ${TEXTS.japanese.slice(0, 60)} 🇯🇵 ${TEXTS.korean.slice(0, 60)}`;

  it("TTS per character, CJK and emoji (tts-1)", async () => {
    await measure("TTS multibyte (tts-1)", "tts-1", EXACT, async (client, tag) => {
      const speech = await client.audio.speech.create({
        model: clientModel("tts-1"),
        voice: "alloy",
        input: `${tag} ${MULTIBYTE}`,
        response_format: "wav",
      });
      await speech.arrayBuffer();
    });
  }, 60_000);

  it("TTS per token, CJK and emoji (gpt-4o-mini-tts: no usage in the audio answer)", async () => {
    await measure(
      "TTS multibyte (gpt-4o-mini-tts)",
      "gpt-4o-mini-tts",
      ESTIMATE,
      async (c, tag) => {
        const speech = await c.audio.speech.create({
          model: clientModel("gpt-4o-mini-tts"),
          voice: "alloy",
          input: `${tag} ${MULTIBYTE}`,
          response_format: "wav",
        });
        await speech.arrayBuffer();
      },
    );
  }, 60_000);

  it("TTS per token, stream_format sse (gpt-4o-mini-tts: usage in the last event)", async () => {
    await measure(
      "TTS multibyte, sse (gpt-4o-mini-tts)",
      "gpt-4o-mini-tts",
      EXACT,
      async (c, tag) => {
        const speech = await c.audio.speech.create({
          model: clientModel("gpt-4o-mini-tts"),
          voice: "alloy",
          input: `${tag} ${MULTIBYTE}`,
          instructions: "Speak calmly.",
          response_format: "pcm",
          stream_format: "sse",
        });
        expect(await speech.text()).toContain('"type":"speech.audio.done"');
      },
    );
  }, 60_000);

  it("whisper-1 (whole seconds, as billed and as told to the client)", async () => {
    await measure("whisper-1, 8.5 s", "whisper-1", EXACT, async (client, tag) => {
      const transcription = await client.audio.transcriptions.create({
        model: clientModel("whisper-1"),
        file: await toFile(silentWav(8.5, 16_000), "speech.wav"),
        prompt: tag,
      });
      const [charged] = await provider.entriesFor(tag);
      expect(transcription.usage).toEqual({ type: "duration", seconds: charged?.consumed.seconds });
    });
  }, 60_000);

  it("gpt-4o-transcribe with a prompt", async () => {
    await measure("gpt-4o-transcribe + prompt", "gpt-4o-transcribe", EXACT, async (client, tag) =>
      client.audio.transcriptions.create({
        model: clientModel("gpt-4o-transcribe"),
        file: await toFile(silentWav(30, 16_000), "meeting.wav"),
        prompt: `${tag} ${TEXTS.english.slice(0, 400)}`,
      }),
    );
  }, 60_000);
});

describe("upstream faults", () => {
  it("the upstream cuts the stream mid-way", async () => {
    const tag = planned({ reply: `${TEXTS.english} ${TEXTS.english}`, cutAfterTokens: 150 });
    await measure(
      "upstream cut mid-stream",
      "gpt-4.1",
      ESTIMATE,
      async (client) => {
        const stream = await client.chat.completions.create({
          model: clientModel("gpt-4.1"),
          messages: [{ role: "user", content: `${tag}: repeat the review twice.` }],
          stream: true,
        });
        await drain(stream);
      },
      { tag },
    );
  }, 60_000);

  it("plain chat with usage (control)", async () => {
    const tag = planned({ reply: TEXTS.english });
    await measure(
      "plain chat, streamed (control)",
      "gpt-4.1",
      EXACT,
      async (client) => {
        const stream = await client.chat.completions.create({
          model: clientModel("gpt-4.1"),
          messages: [{ role: "user", content: `${tag}: ${TEXTS.english}` }],
          stream: true,
        });
        await drain(stream);
      },
      { tag },
    );
  }, 60_000);
});

describe("an upstream that reports no usage", () => {
  for (const [language, text] of Object.entries(TEXTS)) {
    it(`${language}`, async () => {
      const tag = planned({ omitUsage: true });
      await measure(
        `no usage: ${language}`,
        "gpt-4o",
        ESTIMATE,
        (client) =>
          client.chat.completions.create({
            model: clientModel("gpt-4o"),
            messages: [
              { role: "system", content: "Repeat the user's text." },
              { role: "user", content: `${tag} ${text}` },
            ],
          }),
        { tag },
      );
    }, 60_000);
  }

  it("code and tools", async () => {
    const tag = planned({
      omitUsage: true,
      toolCall: {
        name: "run_tests",
        arguments: JSON.stringify({ path: "test/unit/ledger.test.ts", pattern: "finish" }),
      },
    });
    await measure(
      "no usage: code + tools",
      "gpt-4o",
      ESTIMATE,
      (client) =>
        client.chat.completions.create({
          model: clientModel("gpt-4o"),
          tools: TOOLS,
          messages: [
            { role: "system", content: "You are a coding agent. Use the tools." },
            { role: "user", content: `${tag}\n\`\`\`ts\n${CODE}\`\`\`\nRun the tests for this.` },
          ],
        }),
      { tag },
    );
  }, 60_000);

  it("streamed", async () => {
    const tag = planned({ omitUsage: true, reply: TEXTS.english });
    await measure(
      "no usage: streamed (Chinese in, English out)",
      "gpt-4o",
      ESTIMATE,
      async (client) => {
        const stream = await client.chat.completions.create({
          model: clientModel("gpt-4o"),
          messages: [{ role: "user", content: `${tag} ${TEXTS.chinese}` }],
          stream: true,
          stream_options: { include_usage: true },
        });
        await drain(stream);
      },
      { tag },
    );
  }, 60_000);

  it("audio in and out", async () => {
    const tag = planned({ omitUsage: true, reply: TEXTS.english.slice(0, 180) });
    await measure(
      "no usage: audio in + out",
      "gpt-4o-audio-preview",
      ESTIMATE,
      (client) => askAloud(client, tag),
      { tag },
    );
  }, 60_000);

  it("gpt-4o-transcribe with a prompt", async () => {
    const tag = planned({ omitUsage: true });
    await measure(
      "no usage: gpt-4o-transcribe + prompt",
      "gpt-4o-transcribe",
      ESTIMATE,
      async (client) =>
        client.audio.transcriptions.create({
          model: clientModel("gpt-4o-transcribe"),
          file: await toFile(silentWav(30, 16_000), "meeting.wav"),
          prompt: `${tag} ${TEXTS.english.slice(0, 400)}`,
        }),
      { tag },
    );
  }, 60_000);

  it("gpt-image-1 (billed at its list price per image)", async () => {
    const tag = planned({ omitUsage: true });
    await measure(
      "no usage: gpt-image-1, defaults",
      "gpt-image-1",
      ESTIMATE,
      (client) =>
        client.images.generate({ model: clientModel("gpt-image-1"), prompt: `${tag}: a red fox` }),
      { tag },
    );
  }, 60_000);

  it("with an image", async () => {
    const tag = planned({ omitUsage: true, reply: "A plain orange rectangle." });
    const image = pngDataUrl(solidPng(1600, 1200));
    await measure(
      "no usage: image",
      "gpt-4.1-mini",
      ESTIMATE,
      (client) =>
        client.chat.completions.create({
          model: clientModel("gpt-4.1-mini"),
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: `${tag}: what is in this picture?` },
                { type: "image_url", image_url: { url: image } },
              ],
            },
          ],
        }),
      { tag },
    );
  }, 60_000);
});

function writeReport(file: string) {
  const lines = [
    "| shape | model | provider charge (USD) | sluice bill (USD) | bill / charge | within | upstream requests / client requests | note |",
    "| --- | --- | ---: | ---: | ---: | --- | --- | --- |",
    ...rows.map((r) => {
      const ratio = r.billUsd / r.chargeUsd;
      const ok = Math.abs(ratio - 1) <= r.tolerance ? "yes" : "**no**";
      return `| ${r.shape} | ${r.model} | ${r.chargeUsd.toFixed(6)} | ${r.billUsd.toFixed(6)} | ${ratio.toFixed(3)} | ±${r.tolerance * 100}%: ${ok} | ${r.upstreamRequests} / ${r.clientRequests} | ${r.note} |`;
    }),
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
}
