/**
 * OpenAI's Responses API on sluice over a chat-only channel: the official openai SDK (retries
 * off) against the local stack, with an `openai` channel whose config says `responses: bridge`,
 * on the demo upstream's DeepSeek API (infra/local/demo-upstream/deepseek.ts: thinking mode,
 * a 64-token prefix cache, and the 400 DeepSeek answers when a tool turn's reasoning is not
 * passed back). Every call goes through the Responses → chat bridge
 * (shared/relay/bridges/responses-to-chat/).
 *
 * Bills are checked against the fixture's own usage: a fresh twin of the fixture is sent the
 * same chat requests in the same order (so its prefix cache evolves as the first one's), and
 * each answer's usage is priced by sluice's documented rule.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import { UNITS_PER_USD } from "../../shared/billing/units";
import { RESPONSES_BASH_TOOL } from "../fixtures/bash-tool";
import { uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createDeepSeekChannel,
  createUserWithKey,
  type DeepSeekChannel,
  eventually,
  type Json,
  refusal,
  setPrices,
  settledAccount,
  sluice,
} from "./support";

const CHANNEL_KEY = "sk-deepseek-responses-4b17";
/** $ per million tokens: reasoning priced apart from text output, to tell the kinds apart. */
const PRICE = { input: 2, cached_input: 0.2, output: 8, reasoning: 10 };

/** The fixture's model (thinking mode: its name has no `chat`). */
const DEEPSEEK = uniqueModel("deepseek-v4-flash");
/** The name the client asks for, mapped by the channel to DEEPSEEK. */
const MODEL = uniqueModel("gpt-5-codex");

/** A model on a Responses-native openai channel (the demo upstream's /v1/responses). */
const NATIVE = uniqueModel("gpt-resp-native");
const NATIVE_KEY = "sk-native-responses-0c52";

let deepseek: DeepSeekChannel;
let native: DemoUpstream;
let user: Awaited<ReturnType<typeof createUserWithKey>>;

beforeAll(async () => {
  deepseek = await createDeepSeekChannel({
    key: CHANNEL_KEY,
    deepseek: DEEPSEEK,
    models: [MODEL],
    price: PRICE,
    name: "deepseek fixture, responses bridged",
    config: { responses: "bridge" },
  });
  native = await startDemoUpstream({ apiKey: NATIVE_KEY });
  await admin("POST", "/api/channel", {
    type: "openai",
    name: "responses-native fixture",
    base_url: native.baseUrl,
    key: NATIVE_KEY,
    models: [NATIVE],
  });
  await setPrices({ [NATIVE]: PRICE });
  user = await createUserWithKey();
});

afterAll(async () => {
  await deepseek?.close();
  await native?.close();
});

/** The SDK, retries off; `seen` is given each response's headers (a stream's request id). */
function client(seen?: (headers: Headers) => void): OpenAI {
  return new OpenAI({
    baseURL: `${sluice.url}/v1`,
    apiKey: user.secret,
    maxRetries: 0,
    fetch: async (url: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(url, init);
      seen?.(response.headers);
      return response;
    },
  });
}

const rejection = (promise: Promise<unknown>) =>
  refusal<InstanceType<typeof OpenAI.APIError>>(promise);

async function logLine(requestId: string): Promise<Json> {
  const lines = await eventually(
    async () => (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data as Json[],
    (found) => found.some((line) => line.request_id === requestId),
    20_000,
  );
  return lines.find((line) => line.request_id === requestId);
}

const chatCalls = () => deepseek.chatCalls();
const lastChatBody = () => chatCalls().at(-1)?.body as Json;
const fixtureUsages = () => deepseek.fixtureUsages();

/** What sluice's documented rule charges for a DeepSeek chat usage at PRICE, in quota units. */
function chargeOf(usage: Json): number {
  const hit = usage.prompt_cache_hit_tokens;
  const reasoning = usage.completion_tokens_details.reasoning_tokens;
  const usd =
    ((usage.prompt_tokens - hit) * PRICE.input +
      hit * PRICE.cached_input +
      (usage.completion_tokens - reasoning) * PRICE.output +
      reasoning * PRICE.reasoning) /
    1e6;
  return usd * UNITS_PER_USD;
}

/** Billed calls: the log line's request id and the index of its chat request at the fixture. */
const billed: { requestId: string; index: number }[] = [];

const bash = RESPONSES_BASH_TOOL;

describe("POST /v1/responses over an OpenAI-compatible (DeepSeek) channel, bridged", () => {
  it("answers a plain response: the reasoning as a reasoning item, then the message", async () => {
    const index = chatCalls().length;
    const { data, response } = await client()
      .responses.create({ model: MODEL, input: "Say hello" })
      .withResponse();
    billed.push({ requestId: response.headers.get("x-request-id") as string, index });
    expect(data.model).toBe(MODEL);
    expect(data.status).toBe("completed");
    expect(data.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    expect(data.output_text).toBe("This is sluice's demo upstream. You said: Say hello");
    expect(response.headers.get("x-sluice-tools-omitted")).toBeNull();
    // The fixture got a chat request for its own model, with the channel's key.
    const sent = chatCalls().at(-1);
    expect(chatCalls()).toHaveLength(index + 1);
    expect(sent?.path).toBe("/deepseek/chat/completions");
    expect(sent?.headers.authorization).toBe(`Bearer ${CHANNEL_KEY}`);
    expect(lastChatBody().model).toBe(DEEPSEEK);
    expect(lastChatBody().messages).toEqual([{ role: "user", content: "Say hello" }]);
  });

  it("streams in the Responses grammar: the SDK's finalResponse is the whole answer", async () => {
    const index = chatCalls().length;
    let requestId = "";
    const stream = client((headers) => {
      requestId = headers.get("x-request-id") ?? "";
    }).responses.stream({ model: MODEL, input: "Stream a greeting" });
    const kinds: string[] = [];
    let text = "";
    for await (const event of stream) {
      kinds.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    const final = await stream.finalResponse();
    expect(kinds[0]).toBe("response.created");
    expect(kinds.at(-1)).toBe("response.completed");
    expect(text).toBe("This is sluice's demo upstream. You said: Stream a greeting");
    // The SDK's snapshot, built from the events (it sets no output_text on a stream's).
    expect(final.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    const message = final.output.find((item) => item.type === "message");
    expect(message?.type === "message" && message.content).toEqual([
      expect.objectContaining({ type: "output_text", text }),
    ]);
    expect(final.model).toBe(MODEL);
    expect(final.usage?.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(lastChatBody().stream_options).toEqual({ include_usage: true });
    billed.push({ requestId, index });
  });

  it("a function call and its output on a second turn: the reasoning is passed back, as DeepSeek requires", async () => {
    let index = chatCalls().length;
    const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "USE_BASH please" }];
    const one = await client()
      .responses.create({ model: MODEL, input, tools: [bash], store: false })
      .withResponse();
    billed.push({ requestId: one.response.headers.get("x-request-id") as string, index });
    const call = one.data.output.find((item) => item.type === "function_call");
    expect(call).toMatchObject({
      name: "Bash",
      arguments: JSON.stringify({
        command: "echo hello-from-tool",
        description: "Echo a greeting",
      }),
    });
    const reasoning = one.data.output.find((item) => item.type === "reasoning");
    expect(reasoning?.encrypted_content).toMatch(/^sluice1\./);
    index = chatCalls().length;
    const two = await client()
      .responses.create({
        model: MODEL,
        tools: [bash],
        store: false,
        input: [
          ...input,
          ...(one.data.output as OpenAI.Responses.ResponseInputItem[]),
          {
            type: "function_call_output",
            call_id: (call as OpenAI.Responses.ResponseFunctionToolCall).call_id,
            output: "hello-from-tool",
          },
        ],
      })
      .withResponse();
    billed.push({ requestId: two.response.headers.get("x-request-id") as string, index });
    expect(two.data.output_text).toBe("tool done: hello-from-tool");
    // The fixture would have answered 400 without it; this says where it went.
    const assistant = (lastChatBody().messages as Json[]).find((m) => m.role === "assistant");
    const summary = (reasoning as OpenAI.Responses.ResponseReasoningItem).summary
      .map((s) => s.text)
      .join("");
    expect(summary).not.toBe("");
    expect(assistant.reasoning_content).toBe(summary);
    expect(assistant.tool_calls[0].id).toBe((call as { call_id: string }).call_id);
  });

  it("a hosted tool the chat channel cannot run is left out, and named in x-sluice-tools-omitted", async () => {
    const index = chatCalls().length;
    const { data, response } = await client()
      .responses.create({
        model: MODEL,
        input: "Search for nothing",
        tools: [{ type: "web_search" }, bash],
      })
      .withResponse();
    billed.push({ requestId: response.headers.get("x-request-id") as string, index });
    expect(data.status).toBe("completed");
    expect(response.headers.get("x-sluice-tools-omitted")).toBe("web_search");
    const tools = lastChatBody().tools as Json[];
    expect(tools.map((t) => t.function.name)).toEqual(["Bash"]);
  });

  it("an input item chat cannot carry is refused 400 by name, in OpenAI's envelope, with no upstream call", async () => {
    const before = chatCalls().length;
    const err = await rejection(
      client().responses.create({
        model: MODEL,
        input: [
          { role: "user", content: "hi" },
          { type: "item_reference", id: "msg_elsewhere" },
        ],
      }),
    );
    expect(err.status).toBe(400);
    expect(err.error).toMatchObject({
      type: "invalid_request_error",
      param: "input[1]",
      message: expect.stringContaining("item_reference"),
    });
    expect(chatCalls()).toHaveLength(before);
  });

  it("the chat host's refusal of the request reaches the client in OpenAI's envelope, tried once", async () => {
    const before = chatCalls().length;
    const err = await rejection(
      client().responses.create({ model: MODEL, input: "please fail with 422" }),
    );
    expect(err.status).toBe(422);
    expect(err.error).toMatchObject({
      type: "invalid_request_error",
      message: expect.stringContaining("Failed on request (422)."),
    });
    expect(chatCalls()).toHaveLength(before + 1);
  });

  it("a chat host's 200 that is not JSON is a 502 in OpenAI's envelope, billed nothing (never the host's bytes)", async () => {
    const before = await settledAccount(user.id);
    deepseek.upstream.enqueue({ rawBody: "<html><body>Gateway login</body></html>" });
    const err = await rejection(client().responses.create({ model: MODEL, input: "hello" }));
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ message: expect.stringContaining("could not be read") });
    const after = await settledAccount(user.id);
    expect(after.uq).toBe(before.uq);
    expect(after.av).toBe(before.av);
  });

  it("a conversation begun here and continued on a Responses-native channel: sluice's reasoning items are taken out", async () => {
    const first = await client().responses.create({
      model: MODEL,
      input: "Say hello",
      store: false,
    });
    expect(first.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    const input = [
      { role: "user" as const, content: "Say hello" },
      ...(first.output as OpenAI.Responses.ResponseInputItem[]),
      { role: "user" as const, content: "And again" },
    ];
    const before = native.requests.length;
    const second = await client().responses.create({ model: NATIVE, input, store: false });
    expect(second.status).toBe("completed");
    expect(native.requests).toHaveLength(before + 1);
    const sent = (native.requests.at(-1) as { body: Json }).body.input as Json[];
    // Everything but the reasoning item sluice sealed, in order, as the client sent it.
    expect(sent).toEqual(
      JSON.parse(JSON.stringify(input.filter((item) => item.type !== "reasoning"))),
    );
    expect(sent).toHaveLength(input.length - 1);
  });

  it("bills every bridged call from the fixture's usage, by kind, at the price's rule", async () => {
    // A repeated long prefix, so that the fixture's cache hits are billed as cached input.
    const long = `${"The quick brown fox jumps over the lazy dog. ".repeat(80)}Say hello`;
    for (let i = 0; i < 2; i++) {
      const index = chatCalls().length;
      const { response } = await client()
        .responses.create({ model: MODEL, input: long })
        .withResponse();
      billed.push({ requestId: response.headers.get("x-request-id") as string, index });
    }
    const usages = await fixtureUsages();
    let cachedSeen = 0;
    for (const { requestId, index } of billed) {
      const usage = usages[index] as Json;
      const reasoning = usage.completion_tokens_details.reasoning_tokens;
      const hit = usage.prompt_cache_hit_tokens;
      const line = await logLine(requestId);
      expect(line).toMatchObject({
        model: MODEL,
        endpoint: "/v1/responses",
        outcome: "completed",
        prompt_tokens: usage.prompt_tokens,
        input_tokens: usage.prompt_tokens - hit,
        output_tokens: usage.completion_tokens - reasoning,
      });
      expect(line.cached_input_tokens ?? 0).toBe(hit);
      expect(line.reasoning_tokens ?? 0).toBe(reasoning);
      expect(Math.abs(line.quota - chargeOf(usage))).toBeLessThanOrEqual(1);
      cachedSeen += hit;
    }
    // Not a test that passes for want of a cache hit or of reasoning.
    expect(cachedSeen).toBeGreaterThan(0);
    expect(usages.some((u) => (u?.completion_tokens_details.reasoning_tokens ?? 0) > 0)).toBe(true);
  });
});
