/**
 * The contract every channel adapter keeps, run over every registered adapter against the demo
 * upstream (infra/local/demo-upstream), which answers and checks credentials as each provider
 * documents: its requests for each operation it serves are taken by the provider and carry the
 * channel's key in the provider's header (never the client's); error() reads the documented
 * failures; usage() reads the answers' usage, whole and streamed; probe() checks the key with a
 * call that generates nothing; its test call is one tiny call of an operation it serves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream, wavFile } from "../../infra/local/demo-upstream";
import { routes } from "../../shared/api";
import { completionTokensOf, promptTokensOf } from "../../shared/billing/metered";
import type { UpstreamHttpRequest } from "../../shared/relay/adapters/adapter";
import {
  adapterFor,
  supportedChannelTypes,
  upstreamModelFor,
} from "../../shared/relay/adapters/index";
import { type Operation, operationOf, type Protocol } from "../../shared/relay/protocol";
import {
  ADAPTER_FIXTURES,
  bedrockApiKey,
  CONTRACT_BODIES,
  CONTRACT_MODELS,
  contractCall,
  OPERATION_PATHS,
  reportedTokens,
  STREAM_FIELDS,
  streamedUsage,
} from "../fixtures/adapter-contract";
import { CORE_KEY, inProcessApi, type UpstreamAnswer } from "../fixtures/core";

const KEY = "sk-channel-contract-5f0c2e";
const WRONG_KEY = "sk-channel-revoked-000000";
/** Headers a provider reads a key from: a request carries only its own provider's. */
const CREDENTIAL_HEADERS = ["authorization", "api-key", "x-api-key", "ocp-apim-subscription-key"];
const ALL_OPERATIONS = Object.keys(OPERATION_PATHS) as Operation[];
/** Whether the API has a route for an operation yet (the Messages face lands separately). */
const routed = (op: Operation) =>
  routes.some((route) => route.method === "POST" && route.path === `/v1${OPERATION_PATHS[op]}`);

let upstream: DemoUpstream;

beforeAll(async () => {
  upstream = await startDemoUpstream({ apiKey: KEY, bedrock: { apiKey: bedrockApiKey(KEY) } });
});

afterAll(() => upstream.close());

function send(http: UpstreamHttpRequest): Promise<Response> {
  return fetch(http.url, { method: http.method, headers: http.headers, body: http.body });
}

/** What the in-process API's upstream answers for each operation (as OpenAI documents it). */
const ANSWERS: Record<Operation, UpstreamAnswer> = {
  chat: {
    json: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: CONTRACT_MODELS.chat,
      choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    },
  },
  completion: {
    json: {
      id: "cmpl-1",
      object: "text_completion",
      model: CONTRACT_MODELS.completion,
      choices: [{ index: 0, text: "hi", finish_reason: "stop" }],
      usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
    },
  },
  embedding: {
    json: {
      object: "list",
      data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2] }],
      usage: { prompt_tokens: 1, total_tokens: 1 },
    },
  },
  image: { json: { created: 1, data: [{ url: "https://images.example/fox.png" }] } },
  speech: { bytes: wavFile(1), type: "audio/wav" },
  transcription: { json: { text: "hi" } },
  translation: { json: { text: "hi" } },
  moderation: {
    json: {
      id: "modr-1",
      model: CONTRACT_MODELS.moderation,
      results: [{ flagged: false, categories: {}, category_scores: {} }],
    },
  },
  // Anthropic's Messages answer (its input_tokens exclude cached ones).
  messages: {
    json: {
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: CONTRACT_MODELS.messages,
      content: [{ type: "text", text: "hi" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: 3,
        output_tokens: 1,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
    },
  },
  // OpenAI's Responses answer.
  responses: {
    json: {
      id: "resp_1",
      object: "response",
      status: "completed",
      model: CONTRACT_MODELS.responses,
      output: [],
      usage: { input_tokens: 3, output_tokens: 1, total_tokens: 4 },
    },
  },
};

describe.each(supportedChannelTypes())("the %s adapter", (type) => {
  const adapter = adapterFor(type);
  const fixture = ADAPTER_FIXTURES[type];
  const channel = (key = KEY) => fixture.channel(upstream, key);
  const ops = Object.keys(adapter.operations) as Operation[];
  const [credential, credentialValue] = fixture.credential(KEY);

  it("serves the operations it declares, at their paths, and no others", () => {
    expect(ops.length).toBeGreaterThan(0);
    for (const op of ALL_OPERATIONS)
      expect(adapter.serves(OPERATION_PATHS[op]), op).toBe(ops.includes(op));
  });

  it("sends every operation it serves as the provider takes it, the channel's key in the provider's header", async () => {
    for (const op of ops) {
      const before = upstream.requests.length;
      const response = await send(adapter.request(channel(), contractCall(channel(), op)));
      await response.arrayBuffer();
      expect(response.status, op).toBe(200);
      const received = upstream.requests[before];
      expect(received?.headers[credential], op).toBe(credentialValue);
      for (const name of CREDENTIAL_HEADERS.filter((h) => h !== credential))
        expect(received?.headers[name], `${op}: ${name}`).toBeUndefined();
    }
  });

  it("never passes the client's key on: each JSON operation through the API reaches the upstream with the channel's", async () => {
    // Multipart operations read the client's form; the in-process API sends JSON only.
    const json = ops.filter((op) => op !== "transcription" && op !== "translation" && routed(op));
    for (const op of json) {
      const model = CONTRACT_MODELS[op];
      const { id: _id, models: _models, ...fields } = channel();
      const api = inProcessApi([model], () => ANSWERS[op], undefined, fields);
      const response = await api.call(`/v1${OPERATION_PATHS[op]}`, {
        ...CONTRACT_BODIES[op],
        model,
      });
      expect(response.status, `${op}: ${response.text}`).toBe(200);
      const sent = api.upstreamRequests.at(-1);
      expect(sent?.headers[credential], op).toBe(credentialValue);
      expect(JSON.stringify(sent), op).not.toContain(CORE_KEY);
    }
  });

  it("reads a key the provider refuses as a refused key, worth another channel", async () => {
    const call = contractCall(channel(WRONG_KEY), ops[0] as Operation);
    const response = await send(adapter.request(channel(WRONG_KEY), call));
    expect(response.status).toBe(fixture.refusedStatus);
    const reading = adapter.error(response.status, response.headers, await response.text());
    expect(reading).toMatchObject({ kind: "auth", retryable: true });
  });

  it("reads the failures its provider documents, each as the provider means it", async () => {
    for (const { fault, reading } of fixture.failures) {
      upstream.enqueue(fault);
      const call = contractCall(channel(), ops[0] as Operation);
      const response = await send(adapter.request(channel(), call));
      expect(response.status).toBe(fault.status);
      const read = adapter.error(response.status, response.headers, await response.text());
      expect(read, `HTTP ${fault.status}`).toMatchObject(reading);
      expect(read.detail).toContain(`HTTP ${fault.status}`);
    }
  });

  // Azure Speech answers audio, with no usage.
  const reads = ops.some((op) => adapter.usage(adapter.operations[op] as Protocol));
  it.runIf(reads)(
    "reads the usage of every answer that reports one, whole and streamed",
    async () => {
      for (const op of ops) {
        const protocol = adapter.operations[op];
        const reader = protocol && adapter.usage(protocol);
        if (!reader) continue;
        const whole = await send(adapter.request(channel(), contractCall(channel(), op)));
        const answer = (await whole.json()) as { usage: Record<string, number> };
        const metered = reader.answer(answer);
        const expected = reportedTokens(protocol, answer.usage);
        expect(metered, op).toBeDefined();
        expect(promptTokensOf(metered ?? {}), op).toBe(expected.prompt);
        expect(completionTokensOf(metered ?? {}), op).toBe(expected.completion);
        const streamFields = STREAM_FIELDS[op];
        if (!streamFields) continue;

        const streamed = await send(
          adapter.request(channel(), contractCall(channel(), op, streamFields)),
        );
        expect(streamed.status, op).toBe(200);
        const usage = reader.stream();
        // Anthropic's stream reports its input side in message_start and its output (a
        // cumulative total) in message_delta: the latest value of each field counts.
        let reported: Record<string, number> | undefined;
        for await (const events of adapter.decode(
          streamed.body as AsyncIterable<Uint8Array>,
          protocol,
        )) {
          for (const event of events) {
            if (!event.data || event.data === "[DONE]") continue;
            const data = JSON.parse(event.data);
            reported = streamedUsage(data, reported);
            usage.read(data);
          }
        }
        expect(reported, op).toBeDefined();
        const tokens = reportedTokens(protocol, reported ?? {});
        expect(promptTokensOf(usage.metered() ?? {}), op).toBe(tokens.prompt);
        expect(completionTokensOf(usage.metered() ?? {}), op).toBe(tokens.completion);
      }
    },
  );

  // Whether the provider has a key-wide probe at all (Azure's has none: one key per resource).
  const probes = fixture.probe;
  it.runIf(probes)(
    "probes the key with a call that generates nothing, and reads a refusal as one",
    async () => {
      const probe = adapter.probe(channel()) as UpstreamHttpRequest;
      expect(probe.method).toBe(probes?.method);
      if (probe.method === "GET") expect(probe.body).toBeUndefined();
      const taken = await send(probe);
      const text = await taken.text();
      expect(taken.status).toBe(probes?.takenStatus);
      if (!taken.ok) expect(adapter.error(taken.status, taken.headers, text).kind).not.toBe("auth");
      expect(upstream.requests.at(-1)?.headers[credential]).toBe(credentialValue);
      const refused = await send(adapter.probe(channel(WRONG_KEY)) as UpstreamHttpRequest);
      const reading = adapter.error(refused.status, refused.headers, await refused.text());
      expect(reading.kind).toBe("auth");
    },
  );

  it("tests a channel with one tiny call of an operation it serves", async () => {
    const op = operationOf(adapter.testCall("m", "m").path) as Operation;
    expect(ops).toContain(op);
    const model = CONTRACT_MODELS[op];
    const call = adapter.testCall(model, upstreamModelFor(channel(), model));
    if (call.json && "max_tokens" in call.json) expect(call.json.max_tokens).toBe(1);
    const response = await send(adapter.request(channel(), call));
    await response.arrayBuffer();
    expect(response.status).toBe(200);
  });
});

describe("OpenAI's error answers (OpenAI, Azure OpenAI, compatible hosts)", () => {
  const error = adapterFor("openai").error;
  const headers = new Headers();

  it("reads an account out of quota apart from a rate limit: waiting will not help", () => {
    const quota = JSON.stringify({
      error: {
        message: "You exceeded your current quota, please check your plan and billing details.",
        type: "insufficient_quota",
        param: null,
        code: "insufficient_quota",
      },
    });
    expect(error(429, headers, quota)).toMatchObject({ kind: "rate_limited", outOfQuota: true });
    expect(error(402, headers, "")).toMatchObject({ kind: "rate_limited", outOfQuota: true });
  });

  it("reads a 408 as a failure, and keeps only what a body says in OpenAI's envelope", () => {
    expect(error(408, headers, "")).toMatchObject({ kind: "failure", retryable: true });
    expect(error(400, headers, "<html>Bad Request</html>").fields).toBeUndefined();
    expect(error(400, headers, '{"error":"model is required"}').fields).toEqual({
      message: "model is required",
    });
    expect(error(422, headers, '{"error":{"message":7,"code":3}}')).toMatchObject({
      kind: "client_error",
      fields: { message: undefined, code: null, param: null },
    });
  });
});
