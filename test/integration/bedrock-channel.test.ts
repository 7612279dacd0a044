/**
 * `bedrock` channels through sluice's HTTP API: the official Anthropic SDK (retries off) and
 * plain fetch on the Anthropic face, the official openai SDK on the OpenAI face (through the
 * chat → Messages bridge), against the demo upstream's Bedrock runtime
 * (infra/local/demo-upstream/bedrock.ts). The fixture checks each call's SigV4 signature by
 * signing it again with the credentials it was given: here the ones the local stack's
 * functions have in their environment (what a keyless channel signs with, as Lambda's role),
 * so a call signed with anything else is refused as Bedrock refuses it.
 */
import Anthropic, { type APIError } from "@anthropic-ai/sdk";
import OpenAI, { type APIError as APIErrorOpenAI } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BEDROCK_DEMO_API_KEY,
  type DemoUpstream,
  startDemoUpstream,
} from "../../infra/local/demo-upstream";
import {
  type AnthropicStreamEvent,
  assertAnthropicStream,
  parseAnthropicSse,
} from "../fixtures/anthropic-stream";
import { uniqueModel } from "../fixtures/upstream";
import {
  admin,
  anthropicCharge,
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

/** Claude-like list prices ($ per million tokens). */
const PRICE = { input: 3, cached_input: 0.3, cache_write: 3.75, cache_write_1h: 6, output: 15 };
/** A cross-region inference profile, and the base id CountTokens takes for it. */
const PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const BASE_ID = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0";

const MODEL = uniqueModel("claude-bedrock");
/** Mapped to an application inference profile's ARN: no base id to count tokens for. */
const ARN_MODEL = uniqueModel("claude-bedrock-arn");

const credentials = sluice.awsCredentials;
let upstream: DemoUpstream;
let user: Awaited<ReturnType<typeof createUserWithKey>>;
let channelId: string;
const closing: DemoUpstream[] = [];

/** A Bedrock fixture that takes signatures made with `secret` (the stack's by default). */
async function bedrockFixture(secret = credentials.secretAccessKey): Promise<DemoUpstream> {
  const fixture = await startDemoUpstream({
    bedrock: { credentials: [{ accessKeyId: credentials.accessKeyId, secretAccessKey: secret }] },
  });
  closing.push(fixture);
  return fixture;
}

/** A keyless bedrock channel (signed with the functions' credentials) on a fixture. */
async function bedrockChannel(
  fixture: DemoUpstream,
  models: Record<string, string>,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const { id } = await admin("POST", "/api/channel", {
    type: "bedrock",
    name: "bedrock fixture",
    base_url: fixture.origin,
    models: Object.keys(models),
    model_mapping: models,
    config: { region: "us-east-1" },
    ...fields,
  });
  await setPrices(Object.fromEntries(Object.keys(models).map((m) => [m, PRICE])));
  return id;
}

beforeAll(async () => {
  upstream = await bedrockFixture();
  channelId = await bedrockChannel(upstream, {
    [MODEL]: PROFILE,
    [ARN_MODEL]: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
  });
  user = await createUserWithKey();
});

afterAll(async () => {
  for (const fixture of closing) await fixture.close();
});

function client(secret = user.secret): Anthropic {
  return new Anthropic({ baseURL: sluice.url, apiKey: secret, maxRetries: 0 });
}

/** A raw POST to sluice's Anthropic face, as Claude Code sends it. */
function post(body: unknown, headers: Record<string, string> = {}, path = "/v1/messages") {
  return fetch(`${sluice.url}${path}`, {
    method: "POST",
    headers: {
      "x-api-key": user.secret,
      "anthropic-version": "2023-06-01",
      "content-type": "application/json",
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const rejection = (promise: Promise<unknown>) => refusal<APIError>(promise);

const logLine = (requestId: string, accessToken = user.accessToken) =>
  settledLogLine(accessToken, requestId);

const chargeOf = (usage: Json) => anthropicCharge(usage, PRICE);

const channelView = (id: string) => admin("GET", `/api/channel/${id}`);
const hello = [{ role: "user" as const, content: "Say hello" }];
/** A prompt whose answer comes in many word pieces. */
const story = [
  { role: "user" as const, content: "Please say hello to every one of the many people here today" },
];
const bash: Anthropic.Tool = {
  name: "Bash",
  description: "Run a shell command",
  input_schema: {
    type: "object",
    properties: { command: { type: "string" }, description: { type: "string" } },
    required: ["command"],
  },
};

/** What the fixture received last, and the SigV4 scope it was signed for. */
function lastSent(fixture = upstream) {
  const sent = fixture.requests.at(-1);
  if (!sent) throw new Error("the fixture received nothing");
  return sent;
}

describe("the Anthropic face on a bedrock channel", () => {
  it("answers a plain message, signed with the functions' own credentials, billed by Anthropic's rule", async () => {
    const { data, request_id } = await client()
      .messages.create({ model: MODEL, max_tokens: 200, messages: hello })
      .withResponse();
    expect(data).toMatchObject({ type: "message", model: MODEL });
    expect(data.content[0]).toMatchObject({ type: "text" });
    const sent = lastSent();
    expect(sent.path).toBe(`/model/${encodeURIComponent(PROFILE)}/invoke`);
    expect(sent.headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request`,
      ),
    );
    // Bedrock's body: no model or stream, its own version.
    expect(sent.body).toMatchObject({ anthropic_version: "bedrock-2023-05-31", max_tokens: 200 });
    expect(sent.body).not.toHaveProperty("model");
    const line = await logLine(request_id as string);
    expect(line).toMatchObject({
      model: MODEL,
      endpoint: "/v1/messages",
      prompt_tokens: data.usage.input_tokens,
      completion_tokens: data.usage.output_tokens,
      outcome: "completed",
      stream: false,
    });
    expect(Math.abs(line.quota - chargeOf(data.usage))).toBeLessThanOrEqual(1);
  });

  it("streams Bedrock's event-stream frames as Anthropic's events, billed from the events' usage", async () => {
    const response = await post({ model: MODEL, max_tokens: 200, messages: hello, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const requestId = response.headers.get("request-id") as string;
    const events = parseAnthropicSse(await response.text());
    const streamed = assertAnthropicStream(events);
    expect(streamed.message.model).toBe(MODEL);
    expect(streamed.stopReason).toBe("end_turn");
    expect(lastSent().path).toBe(
      `/model/${encodeURIComponent(PROFILE)}/invoke-with-response-stream`,
    );
    // Bedrock's metrics ride on message_stop, passed through.
    expect(events.at(-1)?.data["amazon-bedrock-invocationMetrics"]).toBeDefined();
    const line = await logLine(requestId);
    expect(line).toMatchObject({ stream: true, outcome: "completed" });
    expect(line.prompt_tokens).toBe(streamed.usage.input_tokens);
    expect(line.completion_tokens).toBe(streamed.usage.output_tokens);
    expect(Math.abs(line.quota - chargeOf(streamed.usage))).toBeLessThanOrEqual(1);
  });

  it("streams a tool call through the SDK, and answers parallel tool calls whole", async () => {
    const stream = client().messages.stream({
      model: MODEL,
      max_tokens: 300,
      tools: [bash],
      messages: [{ role: "user", content: "USE_BASH to say hi" }],
    });
    const events: AnthropicStreamEvent[] = [];
    stream.on("streamEvent", (event) => {
      events.push({ event: event.type, data: event as unknown as Record<string, unknown> });
    });
    const message = await stream.finalMessage();
    const streamed = assertAnthropicStream(events);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.content.find((block) => block.type === "tool_use")).toMatchObject({
      name: "Bash",
      input: { command: "echo hello-from-tool" },
    });
    expect(streamed.content).toEqual(message.content);
    const whole = await client().messages.create({
      model: MODEL,
      max_tokens: 300,
      tools: [bash],
      messages: [{ role: "user", content: "PARALLEL please" }],
    });
    expect(whole.content.filter((block) => block.type === "tool_use")).toHaveLength(2);
  });

  it("round-trips signed thinking, streamed, and Bedrock takes the signature back", async () => {
    const thinking = { type: "enabled" as const, budget_tokens: 1024 };
    const ask = "THINK, then USE_BASH to greet.";
    const first = await client()
      .messages.stream({
        model: MODEL,
        max_tokens: 2000,
        thinking,
        tools: [bash],
        messages: [{ role: "user", content: ask }],
      })
      .finalMessage();
    const thought = first.content[0];
    expect(thought).toMatchObject({ type: "thinking", signature: expect.any(String) });
    const tool = first.content.find((block) => block.type === "tool_use") as Anthropic.ToolUseBlock;
    const second = await client().messages.create({
      model: MODEL,
      max_tokens: 2000,
      thinking,
      tools: [bash],
      messages: [
        { role: "user", content: ask },
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: tool.id, content: "hello-from-tool" }],
        },
      ],
    });
    expect(second.content.at(-1)).toMatchObject({
      type: "text",
      text: "tool done: hello-from-tool",
    });
    // The signed block reached Bedrock byte for byte (the fixture checks its signature).
    expect((lastSent().body as Json).messages[1].content[0]).toEqual(thought);
  });

  it("keeps Claude Code's betas Bedrock serves, drops the rest, and says which in x-sluice-betas-dropped", async () => {
    const betas = [
      "claude-code-20250219",
      "interleaved-thinking-2025-05-14",
      "fine-grained-tool-streaming-2025-05-14",
      "context-management-2025-06-27",
    ];
    const { response } = await client()
      .messages.create(
        { model: MODEL, max_tokens: 50, messages: hello },
        { headers: { "anthropic-beta": betas.join(",") } },
      )
      .withResponse();
    expect((lastSent().body as Json).anthropic_beta).toEqual([
      "interleaved-thinking-2025-05-14",
      "context-management-2025-06-27",
    ]);
    expect(response.headers.get("x-sluice-betas-dropped")).toBe(
      "claude-code-20250219,fine-grained-tool-streaming-2025-05-14",
    );
    const streamed = await post(
      { model: MODEL, max_tokens: 50, messages: hello, stream: true },
      { "anthropic-beta": betas.join(",") },
    );
    expect(streamed.headers.get("x-sluice-betas-dropped")).toBe(
      "claude-code-20250219,fine-grained-tool-streaming-2025-05-14",
    );
    await streamed.text();
    // Nothing dropped, no header.
    const { response: plain } = await client()
      .messages.create({ model: MODEL, max_tokens: 50, messages: hello })
      .withResponse();
    expect(plain.headers.get("x-sluice-betas-dropped")).toBeNull();
  });

  it("sends a call Bedrock refused for a beta flag once more with the fallback beta only, and says which betas it lost", async () => {
    const model = uniqueModel("bedrock-betas");
    const fixture = await bedrockFixture();
    // An allow-list wider than what Bedrock serves: Bedrock refuses claude-code-*.
    await bedrockChannel(
      fixture,
      { [model]: HAIKU },
      {
        config: {
          region: "us-east-1",
          betas: "claude-code-*,context-management-2025-06-27,interleaved-thinking-2025-05-14",
        },
      },
    );
    const { data, response } = await client()
      .messages.create(
        { model, max_tokens: 50, messages: hello },
        {
          headers: {
            "anthropic-beta":
              "claude-code-20250219,context-management-2025-06-27,interleaved-thinking-2025-05-14",
          },
        },
      )
      .withResponse();
    expect(data.model).toBe(model);
    const [refused, resent] = fixture.requests.map((r) => (r.body as Json).anthropic_beta);
    expect(refused).toEqual([
      "claude-code-20250219",
      "context-management-2025-06-27",
      "interleaved-thinking-2025-05-14",
    ]);
    expect(resent).toEqual(["interleaved-thinking-2025-05-14"]);
    expect(fixture.requests).toHaveLength(2);
    expect(response.headers.get("x-sluice-betas-dropped")).toBe(
      "claude-code-20250219,context-management-2025-06-27",
    );
  });

  it("bills cache writes and reads as the events report them, at their rates", async () => {
    const policy = `${"A long, stable system prompt about the house rules. ".repeat(300)}${MODEL}`;
    const ask = () =>
      client()
        .messages.create({
          model: MODEL,
          max_tokens: 50,
          system: [{ type: "text", text: policy, cache_control: { type: "ephemeral" } }],
          messages: hello,
        })
        .withResponse();
    const writing = await ask();
    const reading = await ask();
    expect(writing.data.usage.cache_creation_input_tokens).toBeGreaterThan(1000);
    expect(reading.data.usage.cache_read_input_tokens).toBe(
      writing.data.usage.cache_creation_input_tokens,
    );
    for (const { data, request_id } of [writing, reading]) {
      const line = await logLine(request_id as string);
      expect(line.cache_write_tokens ?? 0).toBe(data.usage.cache_creation_input_tokens ?? 0);
      expect(line.cached_input_tokens ?? 0).toBe(data.usage.cache_read_input_tokens ?? 0);
      expect(line.completion_tokens).toBe(data.usage.output_tokens);
      expect(Math.abs(line.quota - chargeOf(data.usage))).toBeLessThanOrEqual(1);
    }
  });

  it("falls back to Bedrock's invocation metrics when the events carry no usage", async () => {
    upstream.enqueue({ omitUsage: true });
    const response = await post({ model: MODEL, max_tokens: 200, messages: hello, stream: true });
    const requestId = response.headers.get("request-id") as string;
    const events = parseAnthropicSse(await response.text());
    assertAnthropicStream(events);
    expect(events.some((e) => JSON.stringify(e.data).includes('"usage"'))).toBe(false);
    const metrics = events.at(-1)?.data["amazon-bedrock-invocationMetrics"] as Json;
    expect(metrics.outputTokenCount).toBeGreaterThan(0);
    const line = await logLine(requestId);
    expect(line.outcome).toBe("completed");
    expect(line.prompt_tokens).toBe(
      metrics.inputTokenCount +
        metrics.cacheReadInputTokenCount +
        metrics.cacheWriteInputTokenCount,
    );
    expect(line.completion_tokens).toBe(metrics.outputTokenCount);
    const usage = {
      input_tokens: metrics.inputTokenCount,
      cache_read_input_tokens: metrics.cacheReadInputTokenCount,
      cache_creation_input_tokens: metrics.cacheWriteInputTokenCount,
      output_tokens: metrics.outputTokenCount,
    };
    expect(Math.abs(line.quota - chargeOf(usage))).toBeLessThanOrEqual(1);
  });

  it.each([
    ["throttlingException", "overloaded_error"],
    ["modelStreamErrorException", "overloaded_error"],
    ["modelTimeoutException", "overloaded_error"],
    ["serviceUnavailableException", "overloaded_error"],
    ["internalServerException", "overloaded_error"],
    ["validationException", "invalid_request_error"],
  ])(
    "a mid-stream %s frame is one Anthropic error event, the call interrupted and billed its input exactly",
    async (exception, type) => {
      upstream.enqueue({
        errorAfterChunks: 8,
        errorType: exception,
        message: `went wrong: ${exception}`,
      });
      const response = await post({ model: MODEL, max_tokens: 200, messages: story, stream: true });
      const requestId = response.headers.get("request-id") as string;
      const events = parseAnthropicSse(await response.text());
      const streamed = assertAnthropicStream(events);
      expect(streamed.error).toMatchObject({ type });
      expect(String(streamed.error?.message)).toContain(`went wrong: ${exception}`);
      expect(events.filter((e) => e.event === "error")).toHaveLength(1);
      expect(events.some((e) => e.event === "message_stop")).toBe(false);
      const usage = (events[0]?.data.message as Json)?.usage;
      const line = await logLine(requestId);
      expect(line.outcome).toBe("interrupted");
      expect(line.prompt_tokens).toBe(
        usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens,
      );
      // The answer as far as delivered (several words), not message_start's placeholder count.
      expect(line.completion_tokens).toBeGreaterThan(usage.output_tokens);
      // The answer as far as delivered: at least the input's charge, at most the hold's bound.
      expect(line.quota).toBeGreaterThanOrEqual(chargeOf({ ...usage, output_tokens: 0 }) - 1);
      expect(line.quota).toBeLessThanOrEqual(chargeOf({ ...usage, output_tokens: 200 }) + 1);
    },
  );
});

describe("Bedrock's errors (design §3.6): status, fail-over and channel health", () => {
  let faulty: DemoUpstream;
  let backup: DemoUpstream;
  const cases = {
    throttled: uniqueModel("bedrock-throttled"),
    notReady: uniqueModel("bedrock-not-ready"),
    unavailable: uniqueModel("bedrock-unavailable"),
    quota: uniqueModel("bedrock-quota"),
    denied: uniqueModel("bedrock-denied"),
    notAuthorized: uniqueModel("bedrock-not-authorized"),
    notFound: uniqueModel("bedrock-not-found"),
    internal: uniqueModel("bedrock-internal"),
    timeout: uniqueModel("bedrock-timeout"),
    modelError: uniqueModel("bedrock-model-error"),
    invalid: uniqueModel("bedrock-invalid"),
  };
  let faultyId: string;

  beforeAll(async () => {
    faulty = await bedrockFixture();
    backup = await bedrockFixture();
    const mapping = Object.fromEntries(Object.values(cases).map((m) => [m, HAIKU]));
    faultyId = await bedrockChannel(faulty, mapping, { priority: 10 });
    await bedrockChannel(backup, mapping, { priority: 5 });
  });

  /** Key checks the faulty fixture received: InvokeModel with an empty body. */
  const probes = () => faulty.requests.filter((r) => r.raw.toString() === "{}").length;

  /** The faulty channel's pair for the model, once its health says so. */
  const pairOf = (model: string, state: string) =>
    eventually(
      () => channelView(faultyId),
      (c: Json) => c.health.models[model]?.state === state,
    ).then((c: Json) => c.health.models[model]);

  it.each([
    ["ThrottlingException", 429, "cooling", "throttled"],
    ["ModelNotReadyException", 429, "cooling", "notReady"],
    ["ServiceUnavailableException", 503, "cooling", "unavailable"],
    ["ServiceQuotaExceededException", 400, "disabled", "quota"],
    ["AccessDeniedException", 403, "disabled", "denied"],
    ["ResourceNotFoundException", 404, "disabled", "notFound"],
  ] as const)(
    "%s (%i) fails over to the next channel, and the pair is %s",
    async (errorType, status, state, key) => {
      const model = cases[key];
      const before = backup.requests.length;
      const probesBefore = probes();
      faulty.enqueue({ status, errorType });
      const message = await client().messages.create({ model, max_tokens: 20, messages: hello });
      expect(message.model).toBe(model);
      expect(backup.requests.length - before).toBe(1);
      const pair = await pairOf(model, state);
      if (key === "quota") expect(pair.reason).toContain("out of quota");
      if (state === "disabled" && key !== "quota") {
        expect(pair.reason).toContain("refused the channel's key for this model");
        // The key check (an InvokeModel with an empty body) found the key itself taken.
        expect(probes()).toBeGreaterThan(probesBefore);
      }
    },
  );

  it("a ValidationException saying the model may not be invoked is the key refused for the pair, not the client's error", async () => {
    const model = cases.notAuthorized;
    faulty.enqueue({
      status: 400,
      errorType: "ValidationException",
      message: "You are not authorized to invoke this API operation.",
    });
    const message = await client().messages.create({ model, max_tokens: 20, messages: hello });
    expect(message.model).toBe(model);
    expect((await pairOf(model, "disabled")).reason).toContain("refused the channel's key");
  });

  it.each([
    ["InternalServerException", 500, "internal"],
    ["ModelTimeoutException", 408, "timeout"],
    ["ModelErrorException", 424, "modelError"],
  ] as const)(
    "%s (%i): the model may have worked, so it is not sent again: overloaded_error",
    async (errorType, status, key) => {
      const model = cases[key];
      const before = backup.requests.length;
      faulty.enqueue({ status, errorType });
      const error = await rejection(
        client().messages.create({ model, max_tokens: 20, messages: hello }),
      );
      expect(error.status).toBe(529);
      expect(error.type).toBe("overloaded_error");
      expect(backup.requests.length).toBe(before);
    },
  );

  it("any other ValidationException is the client's: 400 invalid_request_error with Bedrock's words, no fail-over", async () => {
    const model = cases.invalid;
    const before = backup.requests.length;
    faulty.enqueue({
      status: 400,
      errorType: "ValidationException",
      message: "The model returned the following errors: messages.0.content: must not be empty",
    });
    const error = await rejection(
      client().messages.create({ model, max_tokens: 20, messages: hello }),
    );
    expect(error.status).toBe(400);
    expect(error.type).toBe("invalid_request_error");
    expect(error.message).toContain("messages.0.content: must not be empty");
    expect(error.message).not.toContain("The model returned the following errors");
    expect(backup.requests.length).toBe(before);
    expect((await channelView(faultyId)).health.models[model]).toBeUndefined();
  });

  it("a burst throttled in parallel all fails over; the throttled pair cools down", async () => {
    const model = uniqueModel("bedrock-burst");
    const throttled = await bedrockFixture();
    const spare = await bedrockFixture();
    const id = await bedrockChannel(throttled, { [model]: HAIKU }, { priority: 10 });
    await bedrockChannel(spare, { [model]: HAIKU }, { priority: 5 });
    const burst = 8;
    throttled.enqueue(
      ...Array.from({ length: burst }, () => ({
        status: 429,
        errorType: "ThrottlingException",
        headers: { "retry-after": "60" },
      })),
    );
    const answers = await Promise.all(
      Array.from({ length: burst }, () =>
        client().messages.create({ model, max_tokens: 20, messages: hello }),
      ),
    );
    expect(answers.every((answer) => answer.model === model)).toBe(true);
    // Each call the throttled channel refused went to the spare one, once.
    expect(throttled.requests.length).toBeGreaterThan(0);
    expect(spare.requests).toHaveLength(burst);
    const cooling = await eventually(
      () => channelView(id),
      (c: Json) => c.health.models[model]?.state === "cooling",
    );
    expect(cooling.health.models[model].reason).toContain("rate limited");
  });

  it("a wrong signature (a fixture with another secret), in a burst: every call served by the next channel, the channel disabled as its key refused, and its test button says 403", async () => {
    const model = uniqueModel("bedrock-wrong-secret");
    const strict = await bedrockFixture("another/secret/than/the/stack/has/000000");
    const spare = await bedrockFixture();
    const id = await bedrockChannel(strict, { [model]: HAIKU }, { priority: 10 });
    await bedrockChannel(spare, { [model]: HAIKU }, { priority: 5 });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        client().messages.create({ model, max_tokens: 20, messages: hello }),
      ),
    );
    expect(answers.every((answer) => answer.model === model)).toBe(true);
    const disabled = await eventually(
      () => channelView(id),
      (c: Json) => c.status === "disabled",
    );
    expect(disabled.disabled_reason).toContain("rejected the channel's key for every model");
    expect(disabled.disabled_reason).toContain("InvalidSignatureException");
    // The key check was Bedrock's probe: an InvokeModel with an empty body.
    expect(strict.requests.some((r) => r.raw.toString() === "{}")).toBe(true);
    const tested = await api(sluice.adminToken, "POST", `/api/channel/${id}/test?model=${model}`);
    expect(tested.body).toMatchObject({ success: false, data: { status: 403, model } });
  });
});

describe("count_tokens and the test button on a bedrock channel", () => {
  it("counts with Bedrock's CountTokens for the profile's base id, the same count the call is billed, never billed itself", async () => {
    const counter = await createUserWithKey();
    const messages = [{ role: "user" as const, content: "Count these words, please." }];
    const counted = await client(counter.secret).messages.countTokens({ model: MODEL, messages });
    const sent = lastSent();
    expect(sent.path).toBe(`/model/${encodeURIComponent(BASE_ID)}/count-tokens`);
    const invoke = JSON.parse(
      Buffer.from((sent.body as Json).input.invokeModel.body, "base64").toString("utf8"),
    );
    expect(invoke).toMatchObject({ anthropic_version: "bedrock-2023-05-31", messages });
    const answered = await client(counter.secret).messages.create({
      model: MODEL,
      max_tokens: 20,
      messages,
    });
    expect(counted.input_tokens).toBe(answered.usage.input_tokens);
    const lines = (await api(counter.accessToken, "GET", "/api/log/self")).body.data as Json[];
    expect(lines.filter((line) => line.endpoint?.includes("count_tokens"))).toEqual([]);
    // An application inference profile names no base model: not counted here (404).
    const none = await rejection(
      client(counter.secret).messages.countTokens({ model: ARN_MODEL, messages }),
    );
    expect(none.status).toBe(404);
    expect(none.type).toBe("not_found_error");
  });

  it("tests the channel with a one-token signed InvokeModel", async () => {
    const before = upstream.requests.length;
    const tested = await api(
      sluice.adminToken,
      "POST",
      `/api/channel/${channelId}/test?model=${MODEL}`,
    );
    expect(tested.body).toMatchObject({ success: true, data: { model: MODEL, status: 200 } });
    const sent = upstream.requests[before];
    expect(sent?.path).toBe(`/model/${encodeURIComponent(PROFILE)}/invoke`);
    expect((sent?.body as Json)?.max_tokens).toBe(1);
    expect(sent?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });
});

describe("a bedrock channel's credentials", () => {
  it('sends a Bedrock API key as Bearer, and a key cleared with key: "" signs with the functions\' role again', async () => {
    const model = uniqueModel("bedrock-api-key");
    const fixture = await bedrockFixture();
    const id = await bedrockChannel(fixture, { [model]: HAIKU }, { key: BEDROCK_DEMO_API_KEY });
    await client().messages.create({ model, max_tokens: 20, messages: hello });
    expect(lastSent(fixture).headers.authorization).toBe(`Bearer ${BEDROCK_DEMO_API_KEY}`);
    // An empty key field keeps the key (the console's form sends none then)…
    await admin("PUT", `/api/channel/${id}`, { name: "renamed" });
    expect((await channelView(id)).key).not.toBe("");
    // …and an explicit empty key removes it: the role signs.
    const cleared = await admin("PUT", `/api/channel/${id}`, { key: "" });
    expect(cleared.key).toBe("");
    await client().messages.create({ model, max_tokens: 20, messages: hello });
    expect(lastSent(fixture).headers.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/`),
    );
  });
});

describe("the OpenAI face on a bedrock channel (chat → Messages bridge)", () => {
  let chat: OpenAI;
  beforeAll(() => {
    chat = openai(user.secret);
  });
  const BASH = {
    type: "function" as const,
    function: {
      name: "Bash",
      description: "Runs a shell command.",
      parameters: {
        type: "object",
        properties: { command: { type: "string" } },
        required: ["command"],
      },
    },
  };

  it("a plain call: a chat.completion billed from Bedrock's usage", async () => {
    const { data, response } = await chat.chat.completions
      .create({
        model: MODEL,
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hello there" },
        ],
        max_tokens: 100,
      })
      .withResponse();
    expect(data).toMatchObject({ object: "chat.completion", model: MODEL });
    expect(data.choices[0]?.message.content).toContain("Hello there");
    const sent = lastSent();
    expect(sent.path).toBe(`/model/${encodeURIComponent(PROFILE)}/invoke`);
    expect(sent.body).toMatchObject({
      anthropic_version: "bedrock-2023-05-31",
      system: [{ type: "text", text: "Be brief." }],
    });
    expect(sent.body).not.toHaveProperty("model");
    const line = await logLine(response.headers.get("x-request-id") as string);
    expect(line).toMatchObject({
      endpoint: "/v1/chat/completions",
      prompt_tokens: data.usage?.prompt_tokens,
      completion_tokens: data.usage?.completion_tokens,
      outcome: "completed",
    });
    const usage = {
      input_tokens: data.usage?.prompt_tokens,
      output_tokens: data.usage?.completion_tokens,
    };
    expect(Math.abs(line.quota - chargeOf(usage))).toBeLessThanOrEqual(1);
  });

  it("streams with include_usage, a tool call with reasoning_effort's thinking", async () => {
    const stream = chat.chat.completions.stream({
      model: MODEL,
      messages: [{ role: "user", content: "THINK, then USE_BASH to greet." }],
      tools: [BASH],
      reasoning_effort: "low",
      max_tokens: 4000,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    stream.on("chunk", (chunk) => chunks.push(chunk));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    const call = final.choices[0]?.message.tool_calls?.[0] as Json;
    expect(JSON.parse(call.function.arguments)).toMatchObject({ command: "echo hello-from-tool" });
    expect((final.choices[0]?.message as Json)?.reasoning_content).toEqual(expect.any(String));
    const usageChunk = chunks.at(-1);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage?.completion_tokens).toBeGreaterThan(0);
    const sent = lastSent();
    expect(sent.path).toBe(`/model/${encodeURIComponent(PROFILE)}/invoke-with-response-stream`);
    expect(sent.body).toMatchObject({ thinking: { type: "enabled", budget_tokens: 2048 } });
    expect(sent.body).not.toHaveProperty("stream");
  });

  it("refuses an http(s) image URL (Bedrock takes base64; sluice fetches no client URL) and json_schema, naming the field, before any upstream call", async () => {
    const before = upstream.requests.length;
    const image = await chat.chat.completions
      .create({
        model: MODEL,
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
            ],
          },
        ],
      })
      .catch((e: APIErrorOpenAI) => e);
    expect(image).toBeInstanceOf(OpenAI.BadRequestError);
    const refused = image as APIErrorOpenAI;
    expect(refused.status).toBe(400);
    expect(refused.type).toBe("invalid_request_error");
    expect(refused.param).toBe("messages[0].content[1].image_url.url");
    expect(refused.message).toContain("base64");
    const schema = await chat.chat.completions
      .create({
        model: MODEL,
        messages: hello,
        response_format: {
          type: "json_schema",
          json_schema: { name: "x", schema: { type: "object", properties: {} } },
        },
      })
      .catch((e: APIErrorOpenAI) => e);
    expect((schema as APIErrorOpenAI).status).toBe(400);
    expect((schema as APIErrorOpenAI).param).toBe("response_format");
    expect(upstream.requests.length).toBe(before);
  });
});
