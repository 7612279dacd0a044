/**
 * Anthropic's Messages API on sluice over an OpenAI-compatible channel: the official Anthropic
 * SDK (retries off) and plain fetch, against the local stack, with a channel of type `openai`
 * on the demo upstream's DeepSeek API (infra/local/demo-upstream/deepseek.ts: thinking mode,
 * interleaved tool-call fragments, a 64-token prefix cache, `cache_control` refused, and the
 * 400 DeepSeek answers when a tool turn's reasoning is not passed back). Every call goes
 * through the Messages → chat bridge (shared/relay/bridges/messages-to-chat/).
 *
 * Bills are checked against the fixture's own usage: a second, fresh fixture (its twin) is
 * sent the same requests in the same order, so its prefix cache evolves as the first one's,
 * and each answer's usage is priced by sluice's documented rule (cache hits as cached input).
 */
import Anthropic, { type APIError } from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import { UNITS_PER_USD } from "../../shared/billing/units";
import { countMessagesTokens } from "../../shared/relay/bridges/messages-to-chat";
import { assertAnthropicStream, parseAnthropicSse } from "../fixtures/anthropic-stream";
import { gate, uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createDeepSeekChannel,
  createKey,
  createUser,
  createUserWithKey,
  type DeepSeekChannel,
  eventually,
  type Json,
  refusal,
  setPrices,
  settledAccount,
  sluice,
} from "./support";

const CHANNEL_KEY = "sk-deepseek-channel-7e21";
/** DeepSeek-like list prices ($ per million tokens). */
const PRICE = { input: 2, cached_input: 0.2, output: 8 };

/** The fixture's model (thinking mode: its name has no `chat`), served under this test's name. */
const DEEPSEEK = uniqueModel("deepseek-v4-flash");
/** The name the client asks for, mapped by the channel to DEEPSEEK. */
const MODEL = uniqueModel("claude-sonnet-4-5");
/** A Claude model on an anthropic channel (the Anthropic fixture), for a conversation that moves. */
const CLAUDE = uniqueModel("claude-sonnet-4-5");
const ANTHROPIC_KEY = "sk-ant-channel-9d03";

let deepseek: DeepSeekChannel;
let upstream: DemoUpstream;
let claude: DemoUpstream;
let user: Awaited<ReturnType<typeof createUserWithKey>>;

beforeAll(async () => {
  deepseek = await createDeepSeekChannel({
    key: CHANNEL_KEY,
    deepseek: DEEPSEEK,
    models: [MODEL],
    price: PRICE,
  });
  upstream = deepseek.upstream;
  claude = await startDemoUpstream({ apiKey: ANTHROPIC_KEY, anthropicModels: [CLAUDE] });
  await admin("POST", "/api/channel", {
    type: "anthropic",
    name: "anthropic fixture",
    base_url: claude.origin,
    key: ANTHROPIC_KEY,
    models: [CLAUDE],
  });
  await setPrices({ [CLAUDE]: PRICE });
  user = await createUserWithKey();
});

afterAll(async () => {
  await deepseek?.close();
  await claude?.close();
});

function client(): Anthropic {
  return new Anthropic({ baseURL: sluice.url, apiKey: user.secret, maxRetries: 0 });
}

function post(path: string, body: unknown) {
  return fetch(`${sluice.url}${path}`, {
    method: "POST",
    headers: {
      "x-api-key": user.secret,
      "anthropic-version": "2023-06-01",
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
}

const rejection = (promise: Promise<unknown>) => refusal<APIError>(promise);

async function logLines(): Promise<Json[]> {
  return (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data as Json[];
}

async function logLine(requestId: string): Promise<Json> {
  const lines = await eventually(
    logLines,
    (found) => found.some((line) => line.request_id === requestId),
    20_000,
  );
  return lines.find((line) => line.request_id === requestId);
}

const chatCalls = () => deepseek.chatCalls();
const lastChatBody = () => chatCalls().at(-1)?.body as Json;
const fixtureUsages = () => deepseek.fixtureUsages();

/** What sluice's documented rule charges for a DeepSeek usage at PRICE, in quota units. */
function chargeOf(usage: Json): number {
  const hit = usage.prompt_cache_hit_tokens;
  const usd =
    ((usage.prompt_tokens - hit) * PRICE.input +
      hit * PRICE.cached_input +
      usage.completion_tokens * PRICE.output) /
    1e6;
  return usd * UNITS_PER_USD;
}

/** Billed calls: the log line's request id and the index of its chat request at the fixture. */
const billed: { requestId: string; index: number }[] = [];

const hello = [{ role: "user" as const, content: "Say hello" }];
const bash: Anthropic.Tool = {
  name: "Bash",
  description: "Run a shell command",
  input_schema: {
    type: "object",
    properties: { command: { type: "string" }, description: { type: "string" } },
    required: ["command"],
  },
};

describe("POST /v1/messages over an OpenAI-compatible (DeepSeek) channel", () => {
  it("answers a plain message: the reasoning as a sluice-signed thinking block, then the text", async () => {
    const index = chatCalls().length;
    const { data, request_id } = await client()
      .messages.create({ model: MODEL, max_tokens: 300, messages: hello })
      .withResponse();
    billed.push({ requestId: request_id as string, index });
    expect(data.model).toBe(MODEL);
    expect(data.stop_reason).toBe("end_turn");
    const [thinking, text] = data.content;
    expect(thinking).toMatchObject({
      type: "thinking",
      signature: expect.stringMatching(/^sluice1\./),
    });
    expect(text).toEqual({
      type: "text",
      text: "This is sluice's demo upstream. You said: Say hello",
    });
    // The fixture got a chat request for its own model, with the channel's key.
    const sent = chatCalls().at(-1);
    expect(sent?.path).toBe("/deepseek/chat/completions");
    expect(sent?.headers.authorization).toBe(`Bearer ${CHANNEL_KEY}`);
    expect((sent as { body: Json }).body.model).toBe(DEEPSEEK);
  });

  it("streams in Anthropic's grammar: thinking, then text, every block stopped before message_delta", async () => {
    const index = chatCalls().length;
    const response = await post("/v1/messages?beta=true", {
      model: MODEL,
      max_tokens: 300,
      stream: true,
      messages: [{ role: "user", content: "Stream a greeting" }],
    });
    expect(response.status).toBe(200);
    billed.push({ requestId: response.headers.get("request-id") as string, index });
    const streamed = assertAnthropicStream(parseAnthropicSse(await response.text()));
    expect(streamed.message.model).toBe(MODEL);
    expect(streamed.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    expect(streamed.content[1]?.text).toBe(
      "This is sluice's demo upstream. You said: Stream a greeting",
    );
    expect(streamed.stopReason).toBe("end_turn");
    expect(streamed.usage.output_tokens).toBeGreaterThan(0);
  });

  it("a thinking tool turn and its result: the reasoning is passed back, as DeepSeek requires", async () => {
    const first: Anthropic.MessageCreateParamsNonStreaming = {
      model: MODEL,
      max_tokens: 2000,
      thinking: { type: "enabled", budget_tokens: 1024 },
      tools: [bash],
      messages: [{ role: "user", content: "USE_BASH please" }],
    };
    let index = chatCalls().length;
    const one = await client().messages.create(first).withResponse();
    billed.push({ requestId: one.request_id as string, index });
    expect(one.data.stop_reason).toBe("tool_use");
    const used = one.data.content.find((b) => b.type === "tool_use");
    expect(used).toMatchObject({
      name: "Bash",
      input: { command: "echo hello-from-tool", description: "Echo a greeting" },
    });
    expect(used?.id).toMatch(/^[a-zA-Z0-9_-]+$/);
    index = chatCalls().length;
    const two = await client()
      .messages.create({
        ...first,
        messages: [
          ...first.messages,
          { role: "assistant", content: one.data.content },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: used?.id as string, content: "hello-from-tool" },
            ],
          },
        ],
      })
      .withResponse();
    billed.push({ requestId: two.request_id as string, index });
    expect(two.data.content.at(-1)).toEqual({ type: "text", text: "tool done: hello-from-tool" });
    // The fixture would have answered 400 without it; this says where it went.
    const assistant = (lastChatBody().messages as Json[]).find((m) => m.role === "assistant");
    expect(assistant.reasoning_content).toBe(
      (one.data.content[0] as Anthropic.ThinkingBlock).thinking,
    );
    expect(assistant.tool_calls[0].id).toBe(used?.id);
  });

  it("parallel tool calls, streamed as interleaved fragments, come out as one whole tool_use block each", async () => {
    const response = await post("/v1/messages", {
      model: MODEL,
      max_tokens: 1000,
      stream: true,
      tools: [bash],
      messages: [{ role: "user", content: "Run two, PARALLEL" }],
    });
    const text = await response.text();
    const streamed = assertAnthropicStream(parseAnthropicSse(text));
    expect(text).toContain("input_json_delta");
    const tools = streamed.content.filter((b) => b.type === "tool_use");
    expect(tools.map((b) => b.input)).toEqual([
      { command: "echo one" },
      { command: "echo 'twó 😀'" },
    ]);
    expect(new Set(tools.map((b) => b.id)).size).toBe(2);
    expect(streamed.stopReason).toBe("tool_use");
  });

  it("takes cache_control with a ttl and system turns inside messages; neither reaches the chat host as such", async () => {
    const { data } = await client()
      .messages.create({
        model: MODEL,
        max_tokens: 300,
        system: [
          {
            type: "text",
            text: "You are terse.",
            cache_control: { type: "ephemeral", ttl: "1h" },
          },
        ],
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "First", cache_control: { type: "ephemeral", ttl: "5m" } },
            ],
          },
          { role: "assistant", content: "Noted." },
          // Claude Code's per-turn system messages: not in the SDK's types.
          { role: "system", content: "Be brief now." } as unknown as Anthropic.MessageParam,
          { role: "user", content: "Second" },
        ],
      })
      .withResponse();
    expect(data.content.at(-1)).toMatchObject({ type: "text" });
    const body = lastChatBody();
    expect(JSON.stringify(body)).not.toContain("cache_control");
    const messages = body.messages as Json[];
    expect(messages[0]).toMatchObject({ role: "system" });
    expect(JSON.stringify(messages[0].content)).toContain("You are terse.");
    // The late system turn was folded into the next user turn, which the fixture answered.
    expect(messages.filter((m) => m.role === "system")).toHaveLength(1);
    expect(JSON.stringify(messages.at(-1))).toContain("Be brief now.");
  });

  it("counts tokens itself: no upstream call, never billed, counted against the key's rate limit", async () => {
    const body = {
      model: MODEL,
      system: "You are terse.",
      tools: [bash],
      messages: [{ role: "user" as const, content: "How many tokens is this?" }],
    };
    const before = upstream.requests.length;
    const data = await client().messages.countTokens(body);
    expect(data.input_tokens).toBe(await countMessagesTokens(body));
    expect(data.input_tokens).toBeGreaterThan(20);
    expect(upstream.requests.length).toBe(before);
    // A key allowed 3 requests a minute, in a parallel burst: some counted, the rest refused.
    const limited = await createUser();
    const key = await createKey(limited);
    await admin("PUT", `/api/token/${key.id}`, { rate_limits: { rpm: 3 } });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${sluice.url}/v1/messages/count_tokens`, {
          method: "POST",
          headers: {
            "x-api-key": key.secret,
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
          },
          body: JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() })),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok.length + refused.length).toBe(10);
    // Three per minute; a burst that straddles a minute's end may see two minutes' worth.
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThanOrEqual(6);
    for (const r of ok) {
      expect(r.body).toEqual({ input_tokens: data.input_tokens });
      expect(r.headers.get("anthropic-ratelimit-requests-limit")).toBe("3");
    }
    for (const r of refused)
      expect(r.body).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(upstream.requests.length).toBe(before);
    // Never billed: the limited user's log holds its opening credit and nothing else.
    const { body: log } = await api(limited.accessToken, "GET", "/api/log/self?size=10");
    expect((log.data as Json[]).map((line) => line.type)).toEqual(["topup"]);
  });

  it("bills a client that leaves mid-stream (its input estimated) and stops the upstream", async () => {
    const paused = gate();
    upstream.enqueue({ pauseAfterChunks: 4, resume: paused.promise });
    const abandoned = upstream.abandoned;
    const response = await post("/v1/messages", {
      model: MODEL,
      max_tokens: 500,
      stream: true,
      messages: [{ role: "user", content: "Say hello at length" }],
    });
    const requestId = response.headers.get("request-id") as string;
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("content_block_delta")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    await eventually(
      async () => upstream.abandoned,
      (n) => n > abandoned,
    );
    paused.open();
    const line = await logLine(requestId);
    expect(line.outcome).toBe("client_closed");
    expect(line.prompt_tokens).toBeGreaterThan(0);
    expect(line.completion_tokens).toBeGreaterThan(0);
    expect(line.completion_tokens).toBeLessThanOrEqual(500);
    expect(line.quota).toBeGreaterThan(0);
  });

  it("a chat host's 200 that is not JSON is the face's unreachable-upstream answer (529), billed nothing", async () => {
    const before = await settledAccount(user.id);
    upstream.enqueue({ rawBody: "<html><body>Gateway login</body></html>" });
    const error = await rejection(
      client().messages.create({ model: MODEL, max_tokens: 50, messages: hello }),
    );
    expect(error.status).toBe(529);
    expect(error.error).toMatchObject({
      type: "error",
      error: { type: "overloaded_error", message: expect.stringContaining("could not be read") },
    });
    const after = await settledAccount(user.id);
    expect([after.uq, after.av]).toEqual([before.uq, before.av]);
  });

  it("an upstream 400 reaches the client in Anthropic's envelope", async () => {
    const error = await rejection(
      client().messages.create({
        model: MODEL,
        max_tokens: 50,
        messages: [{ role: "user", content: "please fail with 400" }],
      }),
    );
    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({
      type: "error",
      error: {
        type: "invalid_request_error",
        message: expect.stringContaining("Failed on request"),
      },
    });
  });

  it("bills each call as the fixture charged it: its cache hits as cached input", async () => {
    // A long prompt twice: the second reads the first's prefix from DeepSeek's cache.
    const long = `${"The quick brown fox jumps over the lazy dog. ".repeat(60)}Summarise.`;
    for (let i = 0; i < 2; i++) {
      const index = chatCalls().length;
      const { request_id } = await client()
        .messages.create({
          model: MODEL,
          max_tokens: 300,
          messages: [{ role: "user", content: long }],
        })
        .withResponse();
      billed.push({ requestId: request_id as string, index });
    }
    const usages = await fixtureUsages();
    let cachedSeen = 0;
    for (const { requestId, index } of billed) {
      const usage = usages[index];
      const line = await logLine(requestId);
      expect(line).toMatchObject({
        model: MODEL,
        endpoint: "/v1/messages",
        outcome: "completed",
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
      });
      expect(line.cached_input_tokens ?? 0).toBe(usage.prompt_cache_hit_tokens);
      expect(line.reasoning_tokens ?? 0).toBe(usage.completion_tokens_details.reasoning_tokens);
      expect(Math.abs(line.quota - chargeOf(usage))).toBeLessThanOrEqual(1);
      cachedSeen += usage.prompt_cache_hit_tokens;
    }
    // Not a test that passes for want of a cache hit.
    expect(usages[billed.at(-1)?.index as number].prompt_cache_hit_tokens).toBeGreaterThanOrEqual(
      512,
    );
    expect(cachedSeen).toBeGreaterThan(0);
  });

  it("a conversation begun here and continued on an anthropic channel: sluice's thinking blocks are dropped, and it says so", async () => {
    const first: Anthropic.MessageCreateParamsNonStreaming = {
      model: MODEL,
      max_tokens: 2000,
      thinking: { type: "enabled", budget_tokens: 1024 },
      tools: [bash],
      messages: [{ role: "user", content: "USE_BASH please" }],
    };
    const one = await client().messages.create(first);
    const used = one.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
    expect(one.content[0]).toMatchObject({ signature: expect.stringMatching(/^sluice1\./) });
    const history = {
      ...first,
      model: CLAUDE,
      messages: [
        ...first.messages,
        { role: "assistant" as const, content: one.content },
        {
          role: "user" as const,
          content: [{ type: "tool_result" as const, tool_use_id: used.id, content: "done" }],
        },
      ],
    };
    // The Anthropic fixture verifies every signature, as Anthropic does: sluice's would be a 400.
    const { data, response } = await client().messages.create(history).withResponse();
    expect(data.content.at(-1)).toMatchObject({ type: "text", text: "tool done: done" });
    expect(response.headers.get("x-sluice-thinking")).toBe("dropped");
    const sent = claude.requests.at(-1)?.body as Json;
    expect(JSON.stringify(sent)).not.toContain("sluice1.");
    // Its only thinking block gone, the turn would break `thinking: enabled`: that went too.
    expect(sent.thinking).toBeUndefined();
    expect(sent.messages[1].content.map((b: Json) => b.type)).toEqual(["text", "tool_use"]);
    // A history without them goes through as its bytes, and says nothing.
    const plain = JSON.stringify({ model: CLAUDE, max_tokens: 100, messages: hello });
    const answer = await post("/v1/messages", JSON.parse(plain));
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-sluice-thinking")).toBeNull();
    expect(claude.requests.at(-1)?.raw.toString()).toBe(plain);
  });
});
