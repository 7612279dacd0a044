/**
 * Chat Completions clients (the official openai SDK, retries off) on models an `openai` channel
 * serves only on the Responses API, against the local stack. The demo upstream refuses chat for
 * OpenAI's Responses-only models as OpenAI does (404, "This model is only supported in
 * v1/responses…") and serves them on /v1/responses with OpenAI's event stream and usage
 * (reasoning items, a prompt cache). One channel learns the model from that refusal; another
 * pins its model by `config.responses_only`. Prices are the provider fixture's list prices
 * (test/fixtures/provider), and every charge is worked out from the usage the client saw.
 */
import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, demoTokens, startDemoUpstream } from "../../infra/local/demo-upstream";
import { UNITS_PER_USD } from "../../shared/billing/units";
import { chargeUsd, ratesOf, textTokenPrice } from "../fixtures/provider/prices";
import { uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  refusal,
  setPrices,
  settledLogLine,
  sluice,
} from "./support";

const CHANNEL_KEY = "sk-responses-only-5d02";
/** The provider fixture's model whose list prices the Responses-only models are given. */
const PRICED_AS = "gpt-5-mini";
const PRICE = { ...textTokenPrice(PRICED_AS), reasoning: ratesOf(PRICED_AS).reasoning };

/** Learnt from the upstream's refusal (its name is one OpenAI serves only on Responses). */
const PRO = uniqueModel("gpt-5-pro");
/** Pinned by the channel's config: the upstream would have answered it on chat. */
const PINNED = uniqueModel("gpt-5-pinned");
/** Learnt on a first call the bridge cannot carry. */
const UNCARRIED = uniqueModel("gpt-5.2-pro");
/** On an upstream of its own, for the burst of first calls. */
const BURST = uniqueModel("o3-pro");

let learnt: DemoUpstream;
let pinned: DemoUpstream;
let burst: DemoUpstream;
let user: Awaited<ReturnType<typeof createUserWithKey>>;

beforeAll(async () => {
  learnt = await startDemoUpstream({ apiKey: CHANNEL_KEY });
  pinned = await startDemoUpstream({ apiKey: CHANNEL_KEY });
  burst = await startDemoUpstream({ apiKey: CHANNEL_KEY });
  const channel = (name: string, upstream: DemoUpstream, model: string, config = {}) =>
    admin("POST", "/api/channel", {
      type: "openai",
      name,
      base_url: upstream.baseUrl,
      key: CHANNEL_KEY,
      models: [model],
      config,
    });
  await channel("responses-only, learnt", learnt, PRO);
  await channel("responses-only, pinned", pinned, PINNED, { responses_only: PINNED });
  await channel("responses-only, burst", burst, BURST);
  await channel("responses-only, first call uncarried", learnt, UNCARRIED);
  await setPrices({ [PRO]: PRICE, [PINNED]: PRICE, [BURST]: PRICE, [UNCARRIED]: PRICE });
  user = await createUserWithKey();
});

afterAll(async () => {
  await Promise.all([learnt, pinned, burst].map((u) => u?.close()));
});

/** What the provider's list prices charge for a chat usage, in quota units. */
function chargeOf(usage: Json): number {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0;
  const usd = chargeUsd(PRICED_AS, {
    inputTokens: usage.prompt_tokens - cached,
    cachedInputTokens: cached,
    outputTokens: usage.completion_tokens - reasoning,
    reasoningTokens: reasoning,
  });
  return usd * UNITS_PER_USD;
}

/** The log line's kinds, as the usage splits them (a kind of none is left off the line). */
function kindsOf(usage: Json) {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0;
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    input_tokens: usage.prompt_tokens - cached,
    output_tokens: usage.completion_tokens - reasoning,
    ...(cached > 0 && { cached_input_tokens: cached }),
    ...(reasoning > 0 && { reasoning_tokens: reasoning }),
  };
}

/** The paths the upstream was called on since `from`. */
function pathsSince(upstream: DemoUpstream, from: number): string[] {
  return upstream.requests.slice(from).map((r) => r.path);
}

/** The body of the upstream's last request. */
function lastBody(upstream: DemoUpstream): Json {
  return upstream.requests.at(-1)?.body ?? {};
}

/** A completion's function calls (the SDK's type also has custom calls). */
function callsOf(message: Json): { id: string; function: { name: string; arguments: string } }[] {
  return message?.tool_calls ?? [];
}

const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = ["read_file", "list_dir"].map(
  (name) => ({
    type: "function",
    function: {
      name,
      description: `${name} on a path`,
      parameters: { type: "object", properties: { path: { type: "string" } } },
    },
  }),
);

describe("chat completions on a model served only on /v1/responses", () => {
  it("sends a refused first call again at once through the bridge, then goes there directly; billed from the Responses usage", async () => {
    const client = openai(user.secret);
    const from = learnt.requests.length;
    const { data, request_id } = await client.chat.completions
      .create({
        model: PRO,
        messages: [
          { role: "system", content: "Answer briefly." },
          { role: "user", content: "Say hello" },
        ],
      })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.model).toBe(PRO);
    const message = data.choices[0]?.message as Json;
    expect(message.content).toContain("You said: Say hello");
    expect(message.reasoning_content).toContain("Thinking about: Say hello");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(pathsSince(learnt, from)).toEqual(["/v1/chat/completions", "/v1/responses"]);
    const sent: Json = learnt.requests.at(-1)?.body;
    expect(sent.input).toEqual([
      {
        type: "message",
        role: "system",
        content: [{ type: "input_text", text: "Answer briefly." }],
      },
      { type: "message", role: "user", content: [{ type: "input_text", text: "Say hello" }] },
    ]);
    expect(sent.store).toBe(false);

    const line = await settledLogLine(user.accessToken, request_id as string);
    expect(line).toMatchObject({
      model: PRO,
      endpoint: "/v1/chat/completions",
      stream: false,
      outcome: "completed",
      ...kindsOf(data.usage),
    });
    expect(line.reasoning_tokens).toBeGreaterThan(0);
    expect(Math.abs(line.quota - chargeOf(data.usage))).toBeLessThanOrEqual(1);

    // Learnt: the next call goes to /responses only.
    const next = learnt.requests.length;
    await client.chat.completions.create({
      model: PRO,
      messages: [{ role: "user", content: "Again" }],
    });
    expect(pathsSince(learnt, next)).toEqual(["/v1/responses"]);
  });

  it("prices cached input as cached (a repeated long prefix) and reasoning as reasoning", async () => {
    const client = openai(user.secret);
    const context = Array.from({ length: 1400 }, (_, i) => `w${i}`).join(" ");
    await client.chat.completions.create({
      model: PRO,
      messages: [{ role: "user", content: context }],
    });
    const { data, request_id } = await client.chat.completions
      .create({
        model: PRO,
        messages: [{ role: "user", content: `${context} and more` }],
        reasoning_effort: "low",
      })
      .withResponse();
    const usage = data.usage as Json;
    expect(usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(1024);
    expect(usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(learnt.requests.at(-1)?.body).toMatchObject({ reasoning: { effort: "low" } });
    const line = await settledLogLine(user.accessToken, request_id as string);
    expect(line).toMatchObject(kindsOf(usage));
    expect(Math.abs(line.quota - chargeOf(usage))).toBeLessThanOrEqual(1);
  });

  it("streams content and reasoning_content, with the usage chunk only when asked", async () => {
    const client = openai(user.secret);
    const { data: stream, request_id } = await client.chat.completions
      .create({
        model: PRO,
        messages: [{ role: "user", content: "Stream to me" }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    let content = "";
    let reasoning = "";
    let usage: Json;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as Json;
      content += delta?.content ?? "";
      reasoning += delta?.reasoning_content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
      expect(chunk.model).toBe(PRO);
    }
    expect(content).toContain("You said: Stream to me");
    expect(reasoning).toContain("Thinking about: Stream to me");
    expect(finish).toBe("stop");
    expect(learnt.requests.at(-1)?.body).toMatchObject({ stream: true });
    const line = await settledLogLine(user.accessToken, request_id as string);
    expect(line).toMatchObject({ stream: true, outcome: "completed", ...kindsOf(usage) });
    expect(Math.abs(line.quota - chargeOf(usage))).toBeLessThanOrEqual(1);

    const quiet = await client.chat.completions.create({
      model: PRO,
      messages: [{ role: "user", content: "No usage please" }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of quiet) chunks.push(chunk);
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  it("calls tools in parallel on distinct indexes (plain and streamed) and reads their results", async () => {
    const client = openai(user.secret);
    const plain = await client.chat.completions.create({
      model: PRO,
      messages: [{ role: "user", content: "use every tool" }],
      tools: TOOLS,
      tool_choice: "auto",
    });
    const calls = callsOf(plain.choices[0]?.message);
    expect(calls.map((c) => c.function.name)).toEqual(["read_file", "list_dir"]);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    expect(plain.choices[0]?.finish_reason).toBe("tool_calls");
    const sent: Json = learnt.requests.at(-1)?.body;
    expect(sent.tools.map((t: Json) => t.name)).toEqual(["read_file", "list_dir"]);
    expect(sent.tool_choice).toBe("auto");

    const stream = client.chat.completions.stream({
      model: PRO,
      messages: [{ role: "user", content: "use every tool" }],
      tools: TOOLS,
    });
    const indexes = new Set<number>();
    for await (const chunk of stream)
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) indexes.add(call.index);
    const streamed = await stream.finalChatCompletion();
    expect([...indexes].sort()).toEqual([0, 1]);
    expect(callsOf(streamed.choices[0]?.message).map((c) => c.function.arguments)).toEqual([
      '{"path":"sluice"}',
      '{"path":"sluice"}',
    ]);

    const answer = await client.chat.completions.create({
      model: PRO,
      messages: [
        { role: "user", content: "use every tool" },
        plain.choices[0]?.message as OpenAI.Chat.Completions.ChatCompletionMessageParam,
        ...calls.map((c) => ({
          role: "tool" as const,
          tool_call_id: c.id,
          content: `${c.function.name}: 3 files`,
        })),
      ],
      tools: TOOLS,
    });
    expect(answer.choices[0]?.message.content).toBe("The tool said: list_dir: 3 files");
    const outputs = lastBody(learnt).input.filter((i: Json) => i.type === "function_call_output");
    expect(outputs.map((o: Json) => o.call_id)).toEqual(calls.map((c) => c.id));
  });

  it("answers structured output from response_format json_schema as text.format", async () => {
    const { choices } = await openai(user.secret).chat.completions.create({
      model: PRO,
      messages: [{ role: "user", content: "Name a city" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "city",
          strict: true,
          schema: {
            type: "object",
            properties: { name: { type: "string" }, words: { type: "integer" } },
            required: ["name", "words"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(JSON.parse(choices[0]?.message.content ?? "")).toEqual({
      name: "Name a city",
      words: demoTokens("Name a city").length,
    });
    expect(lastBody(learnt).text.format).toMatchObject({
      type: "json_schema",
      name: "city",
      strict: true,
    });
  });

  it("goes straight to /responses for a model the channel pins, and refuses a malformed pin", async () => {
    const from = pinned.requests.length;
    const answer = await openai(user.secret).chat.completions.create({
      model: PINNED,
      messages: [{ role: "user", content: "Pinned" }],
      max_completion_tokens: 200,
    });
    expect(answer.choices[0]?.message.content).toContain("You said: Pinned");
    expect(pathsSince(pinned, from)).toEqual(["/v1/responses"]);
    expect(pinned.requests.at(-1)?.body).toMatchObject({ max_output_tokens: 200 });

    const bad = await api(sluice.adminToken, "POST", "/api/channel", {
      type: "openai",
      name: "bad pin",
      base_url: pinned.baseUrl,
      key: CHANNEL_KEY,
      models: [uniqueModel("bad-pin")],
      config: { responses_only: "o3-pro,,gpt-5-pro" },
    });
    expect(bad.body).toMatchObject({
      success: false,
      message: expect.stringContaining("config.responses_only"),
    });
  });

  it("refuses what the bridge cannot carry before any call, and passes a Responses refusal on in chat terms", async () => {
    const client = openai(user.secret);
    const from = learnt.requests.length;
    const unsent = await refusal<InstanceType<typeof OpenAI.APIError>>(
      client.chat.completions.create({
        model: PRO,
        messages: [{ role: "user", content: "hi" }],
        stop: ["END"],
      }),
    );
    expect(unsent.status).toBe(400);
    expect(unsent.error).toMatchObject({ type: "invalid_request_error", param: "stop" });
    expect(learnt.requests.length).toBe(from);

    const refused = await refusal<InstanceType<typeof OpenAI.APIError>>(
      client.chat.completions.create({
        model: PRO,
        messages: [{ role: "user", content: "please fail with 400" }],
      }),
    );
    expect(refused.status).toBe(400);
    expect(refused.error).toMatchObject({
      type: "invalid_request_error",
      message: "Failed on request (400).",
    });
    expect(pathsSince(learnt, from)).toEqual(["/v1/responses"]);

    // A first call refused for chat whose request the bridge cannot carry: the client's 400,
    // the model learnt all the same.
    const first = learnt.requests.length;
    const uncarried = await refusal<InstanceType<typeof OpenAI.APIError>>(
      client.chat.completions.create({
        model: UNCARRIED,
        messages: [{ role: "user", content: "hi" }],
        stop: "END",
      }),
    );
    expect(uncarried.status).toBe(400);
    expect(uncarried.error).toMatchObject({ type: "invalid_request_error", param: "stop" });
    expect(pathsSince(learnt, first)).toEqual(["/v1/chat/completions"]);
    await client.chat.completions.create({
      model: UNCARRIED,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(pathsSince(learnt, first)).toEqual(["/v1/chat/completions", "/v1/responses"]);
  });

  it("ends a stream the Responses upstream cut with OpenAI's error chunk, which the SDK raises, billed as interrupted", async () => {
    const own = await createUserWithKey();
    // After two text deltas: no final event, so no usage reported. Before them come 9 events
    // and one per token of the reasoning summary (the demo upstream's event sequence).
    const said = "cut me off";
    const summary = demoTokens(`Thinking about: ${said}`).length;
    learnt.enqueue({ cutAfterChunks: summary + 9 + 2 });
    const stream = openai(own.secret).chat.completions.stream({
      model: PRO,
      messages: [{ role: "user", content: said }],
    });
    let content = "";
    const failure = await refusal<Error>(
      (async () => {
        for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
      })(),
    );
    expect(failure.message).toContain("The upstream");
    expect(content).not.toBe("");
    expect(content).not.toContain(said);
    const called = (lines: Json[]) => lines.filter((l) => l.model === PRO);
    const [line] = called(
      await eventually(
        async () =>
          (await api(own.accessToken, "GET", "/api/log/self?size=10")).body.data as Json[],
        (found) => called(found).length > 0,
        20_000,
      ),
    );
    expect(line).toMatchObject({ model: PRO, stream: true, outcome: "interrupted" });
    expect(line.quota).toBeGreaterThan(0);
  });

  it("serves a burst of parallel first calls: every one answered, each billed once", async () => {
    // A user of its own: its log lines are the burst's.
    const own = await createUserWithKey();
    const client = openai(own.secret);
    const N = 8;
    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        client.chat.completions
          .create({ model: BURST, messages: [{ role: "user", content: `burst ${i}` }] })
          .withResponse(),
      ),
    );
    for (const [i, { data }] of answers.entries())
      expect(data.choices[0]?.message.content).toContain(`You said: burst ${i}`);
    const paths = burst.requests.map((r) => r.path);
    // Each call reached the model once; a chat refusal processed nothing.
    expect(paths.filter((p) => p === "/v1/responses")).toHaveLength(N);
    expect(paths.filter((p) => p === "/v1/chat/completions").length).toBeGreaterThanOrEqual(1);
    const lines = await Promise.all(
      answers.map(({ request_id }) => settledLogLine(own.accessToken, request_id as string)),
    );
    for (const [i, line] of lines.entries()) {
      const usage = answers[i]?.data.usage;
      expect(line).toMatchObject({ outcome: "completed", ...kindsOf(usage) });
      expect(Math.abs(line.quota - chargeOf(usage))).toBeLessThanOrEqual(1);
    }
    const all = (await api(own.accessToken, "GET", "/api/log/self?size=100")).body.data as Json[];
    expect(all.filter((l) => l.model === BURST)).toHaveLength(N);
  });
});
