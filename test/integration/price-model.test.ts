/**
 * The price model through the API (issue 19): PUT /api/pricing takes every rate, tier, source
 * and date, and refuses what it does not know; calls are billed per kind of usage (cache reads
 * at their own rate, tiers past their threshold, whisper's whole seconds), and the usage log,
 * its totals and the daily rollups show each kind and what it cost. Expected bills are worked
 * out here from the usage the client was told and the rates this test set.
 */
import { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wavFile } from "../../infra/local/demo-upstream";
import { type UpstreamFixture, uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  setPrices,
  sluice,
} from "./support";

const models = {
  chat: uniqueModel("cached-chat"),
  tiered: uniqueModel("tiered"),
  excess: uniqueModel("excess"),
  whisper: uniqueModel("whisper"),
  tts: uniqueModel("tts"),
  image: uniqueModel("image"),
  everything: uniqueModel("every-rate"),
};

/** USD per 1M tokens. */
const CHAT = { input: 0.15, cached_input: 0.075, output: 0.6 };
const TIERED = {
  input: 0.5,
  output: 1,
  tiers: [{ above: 60, basis: "whole", rates: { input: 5, output: 10 } }],
};
const EXCESS = {
  input: 1,
  output: 2,
  tiers: [{ above: 60, basis: "excess", rates: { input: 4 } }],
};

/** A price of every kind of rate, tier, source and date, as GET /api/pricing shows it. */
const EVERY_RATE = {
  input: 3,
  cached_input: 0.3,
  cache_write: 3.75,
  cache_write_1h: 6,
  reasoning: 15,
  audio_input: 40,
  cached_audio_input: 2.5,
  audio_output: 80,
  image_input: 3,
  cached_image_input: 0.3,
  image_output: 40,
  output: 15,
  per_call: 0.001,
  tiers: [
    {
      above: 200_000,
      basis: "whole",
      rates: { input: 6, cached_input: 0.6, cache_write: 7.5, cache_write_1h: 12, output: 22.5 },
    },
  ],
  image: { "1024x1024": { low: 0.011, high: 0.167 } },
  tts_per_million_chars: 15,
  stt_per_minute: 0.006,
  default_max_tokens: 64_000,
  batch_discount: 0.5,
  source: "https://www.anthropic.com/pricing",
  as_of: "2026-08-01",
};

let upstream: UpstreamFixture;
let user: Awaited<ReturnType<typeof createUserWithKey>>;

beforeAll(async () => {
  ({ upstream } = await createFixtureChannel({ models: Object.values(models), price: null }));
  await setPrices({
    [models.chat]: CHAT,
    [models.tiered]: TIERED,
    [models.excess]: EXCESS,
    [models.whisper]: { stt_per_minute: 0.006 },
    [models.tts]: { tts_per_million_chars: 15 },
    [models.image]: { image: { "1024x1024": { standard: 0.04, hd: 0.08 } } },
    [models.everything]: EVERY_RATE,
  });
  user = await createUserWithKey();
});
afterAll(() => upstream.close());

/** The user's log lines of `model`, once `count` are there. */
function linesOf(model: string, count: number): Promise<Json[]> {
  return eventually(
    async () =>
      (await api(user.accessToken, "GET", `/api/log/self?model=${model}`)).body.data as Json[],
    (lines) => lines.length >= count,
  );
}

/** Σ tokens × USD per 1M = micro-dollars; a bill is that in units of $0.000002, rounded up once. */
const units = (microUsd: number) => Math.ceil(Math.round(microUsd * 1e6) / 2e6);

/** `n` distinct words: the demo upstream counts one token per word. */
const words = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `w${from + i}`).join(" ");

describe("PUT /api/pricing", () => {
  it("takes every rate, tier, source and date, and GET shows them as they were sent", async () => {
    // What GET answers, PUT takes back unchanged (the console and scripts send it so). Other
    // test files set prices meanwhile: a 409 (the list changed since it was read) reads again.
    let again: Awaited<ReturnType<typeof api<Json>>>;
    for (let attempt = 1; ; attempt++) {
      const prices = await admin("GET", "/api/pricing");
      expect(prices.models[models.everything]).toEqual(EVERY_RATE);
      again = await api(sluice.adminToken, "PUT", "/api/pricing", {
        models: prices.models,
        version: prices.version,
      });
      if (again.status !== 409 || attempt === 8) break;
    }
    expect(again.status).toBe(200);
    expect(again.body.data.models[models.everything]).toEqual(EVERY_RATE);
    // A user sees the same prices.
    const mine = (await api(user.accessToken, "GET", "/api/pricing")).body.data;
    expect(mine.models[models.everything]).toEqual(EVERY_RATE);
  });

  it("refuses bad rates and tiers, and unknown fields, with a 400 that names them", async () => {
    const price = (fields: Record<string, unknown>) => ({ models: { "x-model": fields } });
    const tier = (fields: Record<string, unknown>) =>
      price({ input: 1, tiers: [{ above: 1000, basis: "whole", rates: { input: 2 }, ...fields }] });
    const cases: [unknown, RegExp][] = [
      [price({ input: 1, cached_inputs: 0.5 }), /models\.x-model has unknown field: cached_inputs/],
      [price({ cache_read: 1, write: 2 }), /unknown fields: cache_read, write/],
      [{ batch_discount: 1, pricing: {} }, /The price list has unknown field: pricing/],
      [
        price({ cached_input: -1 }),
        /models\.x-model\.cached_input must be a price in USD, 0 or more/,
      ],
      [price({ reasoning: "2" }), /models\.x-model\.reasoning must be a price/],
      [price({ per_call: null, audio_output: true }), /audio_output must be a price/],
      [tier({ above: 0 }), /tiers\[0\]\.above must be a whole number of prompt tokens, 1 or more/],
      [tier({ above: 1000.5 }), /tiers\[0\]\.above must be a whole number/],
      [tier({ basis: "marginal" }), /tiers\[0\]\.basis must be one of: whole, excess/],
      [
        tier({ rates: { input: 2, cache_read: 1 } }),
        /tiers\[0\]\.rates has unknown field: cache_read/,
      ],
      [tier({ rates: {} }), /tiers\[0\]\.rates sets no rate/],
      [tier({ rates: { output: -3 } }), /tiers\[0\]\.rates\.output must be a price/],
      [tier({ from: 5 }), /tiers\[0\] has unknown field: from/],
      [
        price({
          input: 1,
          tiers: [
            { above: 2000, basis: "whole", rates: { input: 2 } },
            { above: 1000, basis: "whole", rates: { input: 3 } },
          ],
        }),
        /tiers must be sorted by "above"/,
      ],
      [
        price({
          input: 1,
          tiers: [
            { above: 1000, basis: "whole", rates: { input: 2 } },
            { above: 2000, basis: "excess", rates: { input: 3 } },
          ],
        }),
        /tiers must all have the same basis/,
      ],
      [
        tier({ basis: "excess", rates: { input: 2, output: 4 } }),
        /input-side rates only, not output/,
      ],
      [price({ input: 1, tiers: {} }), /tiers must be a list/],
      [price({ input: 1, as_of: "2026-02-31" }), /as_of must be a date, YYYY-MM-DD/],
      [price({ input: 1, as_of: "yesterday" }), /as_of must be a date/],
      [price({ input: 1, source: "x".repeat(501) }), /source must be a text of at most 500/],
      [price({ source: "https://example.com" }), /sets no price/],
    ];
    const before = (await admin("GET", "/api/pricing")).models;
    // All at once, as a script gone wrong would send them.
    const answers = await Promise.all(
      cases.map(([body]) => api(sluice.adminToken, "PUT", "/api/pricing", body)),
    );
    for (const [i, answer] of answers.entries()) {
      expect(answer.status, JSON.stringify(cases[i]?.[0])).toBe(400);
      expect(answer.body.success).toBe(false);
      expect(answer.body.message).toMatch(cases[i]?.[1] as RegExp);
    }
    // A number too large for a double is not a price either (JSON can carry 1e999).
    const huge = await fetch(`${sluice.url}/api/pricing`, {
      method: "PUT",
      headers: { authorization: `Bearer ${sluice.adminToken}`, "content-type": "application/json" },
      body: '{"models": {"x-model": {"input": 1e999}}}',
    });
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as Json).message).toMatch(/input must be a price/);
    const after = (await admin("GET", "/api/pricing")).models;
    expect(after["x-model"]).toBeUndefined();
    expect(after[models.everything]).toEqual(before[models.everything]);
  });
});

describe("calls billed per kind of usage", () => {
  it("bills cache reads at the cached-input rate, and logs each kind and its cost", async () => {
    const client = openai(user.secret);
    // A long context sent twice, a turn more the second time: the demo upstream caches it as
    // OpenAI does (1,024 tokens or more, in steps of 128).
    const context = words(2_000);
    const first = await client.chat.completions.create({
      model: models.chat,
      messages: [{ role: "user", content: context }],
      max_tokens: 20,
    });
    const second = await client.chat.completions.create({
      model: models.chat,
      messages: [
        { role: "user", content: context },
        { role: "user", content: "And one more thing" },
      ],
      max_tokens: 20,
    });
    const cached = second.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached).toBeGreaterThanOrEqual(1_920);
    const prompt = second.usage?.prompt_tokens ?? 0;
    const completion = second.usage?.completion_tokens ?? 0;
    const [line, firstLine] = await linesOf(models.chat, 2);
    expect(firstLine.cached_input_tokens).toBeUndefined();
    expect(firstLine.quota).toBe(
      units(
        (first.usage?.prompt_tokens ?? 0) * CHAT.input +
          (first.usage?.completion_tokens ?? 0) * CHAT.output,
      ),
    );
    expect(line).toMatchObject({
      prompt_tokens: prompt,
      completion_tokens: completion,
      input_tokens: prompt - cached,
      cached_input_tokens: cached,
      output_tokens: completion,
    });
    expect(line.quota).toBe(
      units((prompt - cached) * CHAT.input + cached * CHAT.cached_input + completion * CHAT.output),
    );
    // Each kind's cost, in units (display only; `quota` is the charge).
    expect(line.costs.input).toBeCloseTo(((prompt - cached) * CHAT.input) / 2, 6);
    expect(line.costs.cached_input).toBeCloseTo((cached * CHAT.cached_input) / 2, 6);
    expect(line.costs.output).toBeCloseTo((completion * CHAT.output) / 2, 6);

    // A stream of the same conversation (the client asked for no usage) is billed alike.
    const stream = await client.chat.completions.create({
      model: models.chat,
      messages: [{ role: "user", content: context }],
      max_tokens: 20,
      stream: true,
    });
    for await (const _ of stream) {
      // Read to the end, so the call settles.
    }
    const [streamed] = await linesOf(models.chat, 3);
    expect(streamed.stream).toBe(true);
    expect(streamed.cached_input_tokens).toBeGreaterThanOrEqual(1_920);
    expect(streamed.input_tokens + streamed.cached_input_tokens).toBe(streamed.prompt_tokens);

    // The totals and the daily rollups count the kinds too.
    const lines = await linesOf(models.chat, 3);
    const stat = (await api(user.accessToken, "GET", `/api/log/self/stat?model=${models.chat}`))
      .body.data;
    expect(stat.cached_input_tokens).toBe(
      lines.reduce((sum, l) => sum + (l.cached_input_tokens ?? 0), 0),
    );
    const day = await eventually(
      async () =>
        ((await api(user.accessToken, "GET", "/api/usage/self?days=1")).body.data as Json[]).find(
          (row) => row.model === models.chat,
        ),
      (row) => row?.requests === 3,
      15_000,
    );
    expect(day).toMatchObject({
      cached_input_tokens: stat.cached_input_tokens,
      input_tokens: lines.reduce((sum, l) => sum + l.input_tokens, 0),
      output_tokens: lines.reduce((sum, l) => sum + l.output_tokens, 0),
      prompt_tokens: stat.prompt_tokens,
    });
  });

  it("prices a call past a tier's threshold at the tier's rates: every token, or only the excess", async () => {
    const client = openai(user.secret);
    const call = async (model: string, n: number) =>
      (
        await client.chat.completions.create({
          model,
          messages: [{ role: "user", content: words(n) }],
          max_tokens: 5,
        })
      ).usage as Json;
    const short = await call(models.tiered, 20);
    const long = await call(models.tiered, 80);
    expect(short.prompt_tokens).toBeLessThanOrEqual(60);
    expect(long.prompt_tokens).toBeGreaterThan(60);
    const [longLine, shortLine] = await linesOf(models.tiered, 2);
    expect(shortLine.quota).toBe(
      units(short.prompt_tokens * TIERED.input + short.completion_tokens * TIERED.output),
    );
    expect(longLine.quota).toBe(units(long.prompt_tokens * 5 + long.completion_tokens * 10));

    const excess = await call(models.excess, 80);
    const [excessLine] = await linesOf(models.excess, 1);
    expect(excessLine.quota).toBe(
      units(60 * 1 + (excess.prompt_tokens - 60) * 4 + excess.completion_tokens * 2),
    );
  });

  it("logs whisper's whole seconds as billed and told, speech's characters, and images", async () => {
    const client = openai(user.secret);
    const transcription = (await client.audio.transcriptions.create({
      file: await toFile(Buffer.from(wavFile(2.4)), "short.wav", { type: "audio/wav" }),
      model: models.whisper,
    })) as Json;
    // The client is told whole seconds, rounded up; the same are billed and logged.
    expect(transcription.usage).toEqual({ type: "duration", seconds: 3 });
    const [stt] = await linesOf(models.whisper, 1);
    expect(stt).toMatchObject({ seconds: 3, quota: units((3 * 0.006 * 1e6) / 60) });
    expect(stt.costs.stt).toBeCloseTo((3 * 0.006 * 500_000) / 60, 6);

    const input = "Hello, 世界! 👋";
    await (
      await client.audio.speech.create({ model: models.tts, voice: "alloy", input })
    ).arrayBuffer();
    const [tts] = await linesOf(models.tts, 1);
    expect(tts).toMatchObject({
      characters: [...input].length,
      quota: units([...input].length * 15),
    });

    await client.images.generate({ model: models.image, prompt: "a cat", n: 2, quality: "hd" });
    const [image] = await linesOf(models.image, 1);
    expect(image).toMatchObject({
      image_count: 2,
      image_size: "1024x1024",
      image_quality: "hd",
      quota: units(2 * 0.08 * 1e6),
      costs: { image: 2 * 0.08 * 500_000 },
    });
  });
});
