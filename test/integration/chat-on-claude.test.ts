/**
 * OpenAI chat clients on a Claude channel: /v1/chat/completions, driven by the official openai
 * SDK (retries off), served by an `anthropic` channel on the demo upstream's Anthropic API
 * (which validates as Anthropic does, signs thinking and bills its prompt cache) through the
 * chat → Messages bridge (relay/bridges/chat-to-messages/).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import { uniqueModel } from "../fixtures/upstream";
import {
  admin,
  createUserWithKey,
  type Json,
  openai,
  setPrices,
  settledAccount,
  settledLogLine,
} from "./support";

const CHANNEL_KEY = "sk-ant-channel-c2m";
const PRICE = { input: 3, cached_input: 0.3, cache_write: 3.75, cache_write_1h: 6, output: 15 };
const MODEL = uniqueModel("claude-chat");

let upstream: DemoUpstream;
let user: Awaited<ReturnType<typeof createUserWithKey>>;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startDemoUpstream({ apiKey: CHANNEL_KEY, anthropicModels: [MODEL] });
  await admin("POST", "/api/channel", {
    type: "anthropic",
    name: "anthropic fixture for chat clients",
    base_url: upstream.origin,
    key: CHANNEL_KEY,
    models: [MODEL],
  });
  await setPrices({ [MODEL]: PRICE });
  user = await createUserWithKey();
  client = openai(user.secret);
});

afterAll(() => upstream?.close());

const BASH = {
  type: "function" as const,
  function: {
    name: "Bash",
    description: "Runs a shell command.",
    parameters: {
      type: "object",
      properties: { command: { type: "string" }, description: { type: "string" } },
      required: ["command"],
    },
  },
};

const logLine = (requestId: string) => settledLogLine(user.accessToken, requestId);

/** The last request the fixture received: what the bridge sent. */
function lastSent() {
  const sent = upstream.requests.at(-1);
  if (!sent) throw new Error("the fixture received nothing");
  return sent;
}

describe("chat completions on an anthropic channel", () => {
  it("a plain call: a chat.completion naming the client's model, billed from Anthropic's usage", async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: MODEL,
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hello there" },
        ],
        temperature: 0.5,
        max_tokens: 200,
      })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.model).toBe(MODEL);
    expect(data.choices[0]?.message.content).toContain("Hello there");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    // What reached Anthropic: the Messages API, its version pinned, the channel's key only.
    const sent = lastSent();
    expect(sent.path).toBe("/v1/messages");
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent.headers["x-api-key"]).toBe(CHANNEL_KEY);
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toMatchObject({
      model: MODEL,
      max_tokens: 200,
      system: [{ type: "text", text: "Be brief." }],
      temperature: 0.5,
    });
    const line = await logLine(response.headers.get("x-request-id") as string);
    expect(line).toMatchObject({
      model: MODEL,
      endpoint: "/v1/chat/completions",
      prompt_tokens: data.usage?.prompt_tokens,
      completion_tokens: data.usage?.completion_tokens,
      outcome: "completed",
    });
    expect(line.quota).toBeGreaterThan(0);
  });

  it("a streamed tool turn with thinking, then the next turn with thinking_blocks sent back", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: "user", content: "THINK, then USE_BASH to greet." },
    ];
    const stream = client.chat.completions.stream({
      model: MODEL,
      messages,
      tools: [BASH],
      reasoning_effort: "low",
      max_tokens: 4000,
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    const turn = final.choices[0]?.message as unknown as Json;
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(final.model).toBe(MODEL);
    expect(turn.thinking_blocks).toEqual([
      { type: "thinking", thinking: expect.any(String), signature: expect.any(String) },
    ]);
    const call = turn.tool_calls[0];
    expect(JSON.parse(call.function.arguments)).toMatchObject({ command: "echo hello-from-tool" });
    expect(final.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(lastSent().body).toMatchObject({ thinking: { type: "enabled", budget_tokens: 2048 } });

    const second = await client.chat.completions.create({
      model: MODEL,
      messages: [
        ...messages,
        {
          role: "assistant",
          content: turn.content,
          tool_calls: turn.tool_calls,
          thinking_blocks: turn.thinking_blocks,
        } as OpenAI.ChatCompletionAssistantMessageParam,
        { role: "tool", tool_call_id: call.id, content: "hello-from-tool" },
      ],
      tools: [BASH],
      reasoning_effort: "low",
      max_tokens: 4000,
    });
    expect(second.choices[0]?.message.content).toBe("tool done: hello-from-tool");
    // The signed block went back first in the assistant turn, and thinking stayed on.
    const sent = lastSent().body as Json;
    expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect(sent.messages[1].content[0]).toEqual(turn.thinking_blocks[0]);
  });

  it("cache breakpoints on parts reach Claude; cache writes and reads are reported and billed at their rates", async () => {
    const policy = `${"A long, stable system prompt about the house rules. ".repeat(300)}${MODEL}`;
    const ask = () =>
      client.chat.completions
        .create({
          model: MODEL,
          messages: [
            {
              role: "system",
              content: [
                {
                  type: "text",
                  text: policy,
                  cache_control: { type: "ephemeral", ttl: "1h" },
                } as OpenAI.ChatCompletionContentPartText,
              ],
            },
            { role: "user", content: "Say hello" },
          ],
          max_tokens: 50,
          stream: true,
          stream_options: { include_usage: true },
        })
        .withResponse();
    /** The stream's usage chunk, and the request id. */
    const usageOf = async () => {
      const { data, response } = await ask();
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of data) usage = chunk.usage ?? usage;
      if (!usage) throw new Error("no usage chunk");
      return { usage: usage as Json, id: response.headers.get("x-request-id") as string };
    };
    const first = await usageOf();
    expect((lastSent().body as Json).system[0].cache_control).toEqual({
      type: "ephemeral",
      ttl: "1h",
    });
    const written = first.usage.prompt_tokens_details.cache_write_tokens;
    expect(written).toBeGreaterThan(1000);
    const second = await usageOf();
    const read = second.usage.prompt_tokens_details.cached_tokens;
    expect(read).toBe(written);
    // prompt_tokens counts the cache too (Anthropic's input_tokens does not).
    expect(second.usage.prompt_tokens).toBeGreaterThan(read);

    const [writing, reading] = [await logLine(first.id), await logLine(second.id)];
    expect(writing.cache_write_1h_tokens).toBe(written);
    expect(reading.cached_input_tokens).toBe(read);
    /** What the usage costs at PRICE, in quota units ($1 = 500,000). */
    const charge = (usage: Json, line: "write" | "read") => {
      const cache = line === "write" ? written * PRICE.cache_write_1h : read * PRICE.cached_input;
      const input = usage.prompt_tokens - (line === "write" ? written : read);
      return (
        ((input * PRICE.input + cache + usage.completion_tokens * PRICE.output) / 1e6) * 500_000
      );
    };
    expect(Math.abs(writing.quota - charge(first.usage, "write"))).toBeLessThanOrEqual(1);
    expect(Math.abs(reading.quota - charge(second.usage, "read"))).toBeLessThanOrEqual(1);
  });

  it("a burst of parallel streams: each answer is its own, each call billed once", async () => {
    const asks = Array.from({ length: 16 }, (_, i) => `burst question ${i} ${MODEL}`);
    const results = await Promise.all(
      asks.map(async (content) => {
        const { data, response } = await client.chat.completions
          .create({ model: MODEL, messages: [{ role: "user", content }], stream: true })
          .withResponse();
        let text = "";
        for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? "";
        return { content, text, id: response.headers.get("x-request-id") as string };
      }),
    );
    for (const { content, text } of results) expect(text).toContain(content);
    const lines = await Promise.all(results.map(({ id }) => logLine(id)));
    expect(new Set(lines.map((line) => line.request_id)).size).toBe(asks.length);
    for (const line of lines) {
      expect(line).toMatchObject({ outcome: "completed", stream: true });
      expect(line.quota).toBeGreaterThan(0);
    }
  });

  it("a stream without include_usage has no usage chunk, and is billed all the same", async () => {
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const { data: stream, response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "Stream me" }], stream: true })
      .withResponse();
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => !chunk.usage)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toContain("Stream me");
    const line = await logLine(response.headers.get("x-request-id") as string);
    expect(line).toMatchObject({ stream: true, outcome: "completed" });
    expect(line.prompt_tokens).toBeGreaterThan(0);
    expect(line.completion_tokens).toBeGreaterThan(0);
  });

  it("a Claude host's 200 that is not JSON is a 502 in OpenAI's envelope, billed nothing", async () => {
    const before = await settledAccount(user.id);
    upstream.enqueue({ rawBody: "<html><body>Gateway login</body></html>" });
    const refused = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "hi" }] })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain(
      "could not be read",
    );
    const after = await settledAccount(user.id);
    expect([after.uq, after.av]).toEqual([before.uq, before.av]);
  });

  it("what Claude cannot do is a 400 before the channel is called; Anthropic's refusals keep their type", async () => {
    const before = upstream.requests.length;
    const refused = await client.chat.completions
      .create({
        model: MODEL,
        messages: [
          { role: "user", content: "x" },
          {
            role: "assistant",
            tool_calls: [
              { id: "t1", type: "function", function: { name: "Bash", arguments: "{oops" } },
            ],
          },
          { role: "tool", tool_call_id: "t1", content: "y" },
        ],
      })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).param).toBe(
      "messages[1].tool_calls[0].function.arguments",
    );
    expect(upstream.requests.length).toBe(before);

    // A forged signature: Anthropic's 400, its type kept, code null.
    const forged = await client.chat.completions
      .create({
        model: MODEL,
        messages: [
          { role: "user", content: "x" },
          {
            role: "assistant",
            content: "ok",
            thinking_blocks: [{ type: "thinking", thinking: "t", signature: "bm90LXNpZ25lZA==" }],
          } as OpenAI.ChatCompletionAssistantMessageParam,
          { role: "user", content: "again" },
        ],
      })
      .catch((err: unknown) => err);
    expect(forged).toBeInstanceOf(OpenAI.BadRequestError);
    const error = forged as InstanceType<typeof OpenAI.APIError>;
    expect(error.type).toBe("invalid_request_error");
    expect(error.code).toBeNull();
    expect(error.message).toContain("signature");
  });

  it("an error event mid-stream reaches the SDK as an APIError with Anthropic's type", async () => {
    const stream = client.chat.completions.stream({
      model: MODEL,
      messages: [{ role: "user", content: "please fail mid-stream" }],
    });
    const error = await stream.finalChatCompletion().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe("overloaded_error");
  });
});
