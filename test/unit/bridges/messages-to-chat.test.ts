import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../../infra/local/demo-upstream";
import { fromChatUsage } from "../../../shared/billing/usage/openai-chat";
import { InvalidRequest } from "../../../shared/errors";
import { renderEn } from "../../../shared/messages/render";
import type { BridgeContext } from "../../../shared/relay/bridges/bridge";
import {
  countMessagesTokens,
  messagesToChat,
} from "../../../shared/relay/bridges/messages-to-chat";
import { messagesToChatConfigProblem } from "../../../shared/relay/bridges/messages-to-chat/options";
import {
  cleanSluiceThinking,
  isSluiceSignature,
  mintSignature,
} from "../../../shared/relay/bridges/signatures";
import { anthropicToolId } from "../../../shared/relay/bridges/tool-ids";
import { SseParser } from "../../../shared/stream/sse";
import { assertAnthropicStream, parseAnthropicSse } from "../../fixtures/anthropic-stream";

/**
 * The Messages → chat bridge (DESIGN-20 §6.1–6.3): recorded chat streams in DeepSeek's documented
 * chunk shapes, one per pitfall peers shipped, each run through the bridge, checked against the
 * Anthropic stream grammar (assertAnthropicStream) and accumulated by the official Anthropic SDK's
 * MessageStream (the client's own reading of the events); the request conversion by table; and a
 * two-turn tool conversation with thinking against the DeepSeek fixture, which refuses a history
 * whose reasoning was not passed back.
 */

const MODEL = "claude-sonnet-4-5";
const CONTEXT: BridgeContext = { model: MODEL };
const DONE = "[DONE]";

type Fields = Record<string, unknown>;

/** A chunk as DeepSeek streams it: every chunk names the completion, and `usage: null`. */
function chunk(delta: Fields, finish: string | null = null): Fields {
  return {
    id: "a1b2c3d4-e5f6-4789-abcd-0123456789ab",
    object: "chat.completion.chunk",
    created: 1_765_000_000,
    model: "deepseek-reasoner",
    system_fingerprint: "fp_5417b77867_prod0820_fp8_kvcache",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
  };
}

/** The `choices: []` chunk `stream_options.include_usage` adds after the finish. */
function usageChunk(usage: Fields): Fields {
  return { ...chunk({}), choices: [], usage };
}

/** DeepSeek's usage: cache hits spelled both ways, reasoning tokens in the details. */
const DEEPSEEK_USAGE = {
  prompt_tokens: 1_210,
  completion_tokens: 96,
  total_tokens: 1_306,
  prompt_tokens_details: { cached_tokens: 1_152 },
  completion_tokens_details: { reasoning_tokens: 40 },
  prompt_cache_hit_tokens: 1_152,
  prompt_cache_miss_tokens: 58,
};

/** DeepSeek's thinking-mode opening: reasoning_content "" beside a null content. */
const OPENING = chunk({ role: "assistant", content: null, reasoning_content: "" });
const reasoning = (text: string) => chunk({ content: null, reasoning_content: text });
const content = (text: string) => chunk({ content: text, reasoning_content: null });
const toolOpen = (index: number, id: string, name: string) =>
  chunk({
    tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }],
  });
const toolArgs = (index: number, args: string) =>
  chunk({ tool_calls: [{ index, function: { arguments: args } }] });

/** The SSE body of chunks (objects, or `[DONE]`). */
function sseText(chunks: (Fields | string)[]): string {
  return chunks.map((c) => `data: ${typeof c === "string" ? c : JSON.stringify(c)}\n\n`).join("");
}

interface Converted {
  /** The Anthropic SSE text the client got. */
  text: string;
  complete: boolean;
  metered: ReturnType<ReturnType<typeof messagesToChat.stream>["metered"]>;
}

/**
 * The chunks through a fresh stream bridge, the body delivered in pieces of `piece` bytes (one
 * event per push by default), then the end; an incomplete end gets the broken-stream event, as
 * the face sends it.
 */
function convert(chunks: (Fields | string)[], piece?: number): Converted {
  const bridge = messagesToChat.stream(CONTEXT);
  const parser = new SseParser();
  const bytes = new TextEncoder().encode(sseText(chunks));
  let text = "";
  if (piece === undefined) {
    for (const event of parser.push(bytes)) text += bridge.push([event]);
  } else {
    for (let i = 0; i < bytes.length; i += piece)
      text += bridge.push(parser.push(bytes.slice(i, i + piece)));
  }
  text += bridge.push(parser.end());
  const end = bridge.end();
  text += end.text;
  if (!end.complete)
    text += bridge.broken("The upstream provider stopped before the answer ended.");
  return { text, complete: end.complete, metered: bridge.metered() };
}

/** The message the official SDK accumulates from an SSE body (its MessageStream). */
async function sdkMessage(sse: string): Promise<Anthropic.Message> {
  const client = new Anthropic({
    apiKey: "unused",
    maxRetries: 0,
    fetch: async () =>
      new Response(sse, { status: 200, headers: { "content-type": "text/event-stream" } }),
  });
  return client.messages
    .stream({ model: MODEL, max_tokens: 1024, messages: [{ role: "user", content: "hi" }] })
    .finalMessage();
}

/** Grammar, then the SDK's message; both must agree on the content. */
async function check(chunks: (Fields | string)[]) {
  const converted = convert(chunks);
  const streamed = assertAnthropicStream(parseAnthropicSse(converted.text));
  const message = await sdkMessage(converted.text);
  expect(message.content).toEqual(streamed.content);
  return { ...converted, streamed, message };
}

const thinking = (text: string) => ({
  type: "thinking",
  thinking: text,
  signature: mintSignature(text),
});

describe("chat streams as Anthropic streams", () => {
  it("reasoning then text (DeepSeek): a signed thinking block, then text; cache hits as cache reads, input without them", async () => {
    const { message, metered, text } = await check([
      OPENING,
      reasoning("The user "),
      reasoning("greets me."),
      content(""),
      content("Hello"),
      content(" there!"),
      chunk({}, "stop"),
      usageChunk(DEEPSEEK_USAGE),
      DONE,
    ]);
    expect(message).toMatchObject({
      id: "msg_a1b2c3d4-e5f6-4789-abcd-0123456789ab",
      model: MODEL,
      role: "assistant",
      content: [thinking("The user greets me."), { type: "text", text: "Hello there!" }],
      stop_reason: "end_turn",
      usage: {
        input_tokens: 1_210 - 1_152,
        cache_read_input_tokens: 1_152,
        cache_creation_input_tokens: 0,
        output_tokens: 96,
      },
    });
    // message_start carried the full usage shape, in zeros (rule 7).
    const start = parseAnthropicSse(text)[0]?.data.message as Fields;
    expect(start.usage).toEqual({
      input_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: 0,
      service_tier: "standard",
    });
    // Billed exactly as the chat reader bills the same usage.
    expect(metered).toEqual(fromChatUsage(DEEPSEEK_USAGE));
    expect(isSluiceSignature((message.content[0] as Anthropic.ThinkingBlock).signature)).toBe(true);
  });

  it("text then reasoning then text: three blocks, the thinking one signed before the switch", async () => {
    const { message, text } = await check([
      chunk({ role: "assistant", content: "" }),
      chunk({ content: "Let me think." }),
      chunk({ reasoning_content: "Two plus two" }),
      chunk({ reasoning_content: " is four." }),
      chunk({ content: "It is 4." }),
      chunk({}, "stop"),
      usageChunk(DEEPSEEK_USAGE),
      DONE,
    ]);
    expect(message.content).toEqual([
      { type: "text", text: "Let me think." },
      thinking("Two plus two is four."),
      { type: "text", text: "It is 4." },
    ]);
    const events = parseAnthropicSse(text).map((e) => e.data);
    const signature = events.findIndex(
      (e) => (e.delta as Fields | undefined)?.type === "signature_delta",
    );
    expect(events[signature + 1]).toEqual({ type: "content_block_stop", index: 1 });
  });

  it("parallel tool calls with interleaved fragments: one block each, every fragment in its own", async () => {
    const first = JSON.stringify({ command: "echo one" });
    const second = JSON.stringify({ command: "echo 'twó 😀'" });
    const pieces = (s: string) => [s.slice(0, 5), s.slice(5, 13), s.slice(13)];
    const [a, b] = [pieces(first), pieces(second)];
    const { message, text } = await check([
      OPENING,
      reasoning("Two commands at once."),
      toolOpen(0, "call_00_abc", "Bash"),
      toolOpen(1, "call_01_def", "Bash"),
      toolArgs(0, a[0] as string),
      toolArgs(1, b[0] as string),
      toolArgs(0, a[1] as string),
      toolArgs(1, b[1] as string),
      toolArgs(0, a[2] as string),
      toolArgs(1, b[2] as string),
      chunk({}, "tool_calls"),
      usageChunk(DEEPSEEK_USAGE),
      DONE,
    ]);
    expect(message.content).toEqual([
      thinking("Two commands at once."),
      { type: "tool_use", id: "call_00_abc", name: "Bash", input: { command: "echo one" } },
      { type: "tool_use", id: "call_01_def", name: "Bash", input: { command: "echo 'twó 😀'" } },
    ]);
    expect(message.stop_reason).toBe("tool_use");
    // The first call streamed live: its fragments are the upstream's, one delta each.
    const partials = parseAnthropicSse(text)
      .map((e) => e.data)
      .filter((e) => e.index === 1 && (e.delta as Fields | undefined)?.type === "input_json_delta")
      .map((e) => (e.delta as Fields).partial_json);
    expect(partials).toEqual(a);
  });

  it("calls sent one after another (OpenAI's way) move on as soon as the open call's JSON is whole", async () => {
    const { message, text } = await check([
      chunk({ role: "assistant", content: null }),
      toolOpen(0, "call_a", "Read"),
      toolArgs(0, '{"path":'),
      toolArgs(0, '"a.txt"}'),
      toolOpen(1, "call_b", "Read"),
      toolArgs(1, '{"path":"b.txt"}'),
      chunk({}, "tool_calls"),
      DONE,
    ]);
    expect(message.content).toEqual([
      { type: "tool_use", id: "call_a", name: "Read", input: { path: "a.txt" } },
      { type: "tool_use", id: "call_b", name: "Read", input: { path: "b.txt" } },
    ]);
    // The second block streamed live too: opened, and its arguments sent, before the finish.
    const bridge = messagesToChat.stream(CONTEXT);
    const pushed = (c: Fields) =>
      bridge.push(new SseParser().push(new TextEncoder().encode(sseText([c]))));
    pushed(chunk({ role: "assistant", content: null }));
    pushed(toolOpen(0, "call_a", "Read"));
    pushed(toolArgs(0, '{"path":"a.txt"}'));
    const live = pushed(toolOpen(1, "call_b", "Read")) + pushed(toolArgs(1, '{"path":"b.txt"}'));
    expect(parseAnthropicSse(live).map((e) => [e.event, e.data.index])).toEqual([
      ["content_block_stop", 0],
      ["content_block_start", 1],
      ["content_block_delta", 1],
    ]);
    expect(text).toContain("message_stop");
  });

  it("text or reasoning that comes after a call began waits for the calls: no fragment lands after its block's stop", async () => {
    const { message } = await check([
      chunk({ role: "assistant", content: null }),
      toolOpen(0, "call_a", "Bash"),
      toolOpen(1, "call_b", "Bash"),
      toolArgs(0, '{"command":'),
      chunk({ content: "Both started." }),
      toolArgs(1, '{"command":"b"}'),
      chunk({ reasoning_content: "Then check." }),
      toolArgs(0, '"a"}'),
      chunk({}, "tool_calls"),
      DONE,
    ]);
    expect(message.content).toEqual([
      { type: "tool_use", id: "call_a", name: "Bash", input: { command: "a" } },
      { type: "tool_use", id: "call_b", name: "Bash", input: { command: "b" } },
      { type: "text", text: "Both started." },
      thinking("Then check."),
    ]);
  });

  it("usage inside the finishing choice (Moonshot's way) ends the message with it", async () => {
    const usage = { prompt_tokens: 40, completion_tokens: 5, total_tokens: 45, cached_tokens: 32 };
    const { message, metered } = await check([
      chunk({ role: "assistant", content: "" }),
      chunk({ content: "Hi." }),
      { ...chunk({}, "stop"), choices: [{ index: 0, delta: {}, finish_reason: "stop", usage }] },
    ]);
    expect(message.usage).toMatchObject({
      input_tokens: 8,
      cache_read_input_tokens: 32,
      output_tokens: 5,
    });
    expect(metered).toEqual(fromChatUsage(usage));
  });

  it("tool arguments split at every position (inside multi-byte characters and \\u escapes) arrive whole", async () => {
    const args = '{"command":"printf \\u00e9\\n","note":"twó 😀 ü"}';
    for (let k = 0; k <= args.length; k++) {
      const { text } = convert([
        chunk({ role: "assistant", content: null }),
        toolOpen(0, "call_split", "Bash"),
        toolArgs(0, args.slice(0, k)),
        toolArgs(0, args.slice(k)),
        chunk({}, "tool_calls"),
        DONE,
      ]);
      const streamed = assertAnthropicStream(parseAnthropicSse(text));
      expect(streamed.content, `split at ${k}`).toEqual([
        { type: "tool_use", id: "call_split", name: "Bash", input: JSON.parse(args) },
      ]);
    }
    // And the whole body cut into network reads at every byte: the same message.
    const whole = [
      OPENING,
      reasoning("ü 😀"),
      toolOpen(0, "call_split", "Bash"),
      toolArgs(0, args),
      chunk({}, "tool_calls"),
      usageChunk(DEEPSEEK_USAGE),
      DONE,
    ];
    // (The message id is the upstream's when the first push holds a chunk, else sluice's own.)
    const sameId = (text: string) => text.replace(/"msg_[^"]*"/, '"msg_"');
    const expected = convert(whole).text;
    for (const piece of [1, 2, 3, 7])
      expect(sameId(convert(whole, piece).text)).toBe(sameId(expected));
    const message = await sdkMessage(expected);
    expect(message.content[1]).toMatchObject({ input: JSON.parse(args) });
  });

  it("a finish with an empty delta closes the blocks; message_delta waits for the usage chunk, which comes with choices: []", () => {
    const bridge = messagesToChat.stream(CONTEXT);
    const events = (chunks: Fields[]) =>
      new SseParser().push(new TextEncoder().encode(sseText(chunks)));
    const before = bridge.push(events([OPENING, content("Hi."), chunk({}, "stop")]));
    expect(before).toContain("content_block_stop");
    expect(before).not.toContain("message_delta");
    const after = bridge.push(events([usageChunk(DEEPSEEK_USAGE)]));
    const delta = parseAnthropicSse(after).find((e) => e.event === "message_delta");
    expect(delta?.data.usage).toMatchObject({ input_tokens: 58, cache_read_input_tokens: 1_152 });
    expect(bridge.push(new SseParser().push(new TextEncoder().encode("data: [DONE]\n\n")))).toBe(
      "",
    );
    expect(bridge.end()).toEqual({ text: "", complete: true });
  });

  it("no usage (a host that ignores include_usage): the message ends on [DONE], or at the end after a finish, with zero usage", async () => {
    for (const tail of [[DONE], []]) {
      const { message, complete, metered } = await check([
        chunk({ role: "assistant", content: "" }),
        chunk({ content: "Plain." }),
        chunk({}, "length"),
        ...tail,
      ]);
      expect(complete).toBe(true);
      expect(message.stop_reason).toBe("max_tokens");
      expect(message.usage.output_tokens).toBe(0);
      expect(metered).toBeUndefined();
    }
  });

  it("[DONE] with no finish reason: complete, the reason read from the answer (tool_use when a call was made)", async () => {
    const { message } = await check([
      chunk({ role: "assistant", content: null }),
      toolOpen(0, "call_x", "Bash"),
      toolArgs(0, "{}"),
      DONE,
    ]);
    expect(message.stop_reason).toBe("tool_use");
  });

  it("cut mid-tool (EOF before any finish): incomplete, the open block left as it is and an overloaded_error event, never message_stop", async () => {
    const { text, complete } = convert([
      OPENING,
      reasoning("Running it."),
      toolOpen(0, "call_cut", "Bash"),
      toolArgs(0, '{"command":"ec'),
    ]);
    expect(complete).toBe(false);
    const streamed = assertAnthropicStream(parseAnthropicSse(text));
    expect(streamed.error).toMatchObject({ type: "overloaded_error" });
    expect(text).not.toContain("message_stop");
    await expect(sdkMessage(text)).rejects.toMatchObject({ type: "overloaded_error" });
  });

  it("Kimi's `functions.Bash:0` ids become Anthropic-valid, deterministic and distinct", async () => {
    const { message } = await check([
      chunk({ role: "assistant", content: "" }),
      chunk({
        tool_calls: [
          {
            index: 0,
            id: "functions.Bash:0",
            type: "function",
            function: { name: "Bash", arguments: '{"command":"ls"}' },
          },
        ],
      }),
      chunk({
        tool_calls: [
          {
            index: 1,
            id: "functions.Bash:1",
            type: "function",
            function: { name: "Bash", arguments: '{"command":"pwd"}' },
          },
        ],
      }),
      chunk({}, "tool_calls"),
      usageChunk({ prompt_tokens: 20, completion_tokens: 10, total_tokens: 30, cached_tokens: 0 }),
      DONE,
    ]);
    const ids = message.content.map((b) => (b as Anthropic.ToolUseBlock).id);
    for (const id of ids) expect(id).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(ids).toEqual([anthropicToolId("functions.Bash:0"), anthropicToolId("functions.Bash:1")]);
    expect(new Set(ids).size).toBe(2);
    // Ids that differ only in invalid characters still differ.
    expect(anthropicToolId("functions.Bash:0")).not.toBe(anthropicToolId("functions_Bash_0"));
    expect(anthropicToolId("call_ok-1")).toBe("call_ok-1");
  });

  it("empty or whitespace content beside tool calls opens no text block", async () => {
    const { message } = await check([
      chunk({ role: "assistant", content: "" }),
      chunk({ content: "\n\n" }),
      toolOpen(0, "call_e", "Bash"),
      toolArgs(0, '{"command":"true"}'),
      chunk({ content: "" }, "tool_calls"),
      usageChunk(DEEPSEEK_USAGE),
      DONE,
    ]);
    expect(message.content).toEqual([
      { type: "tool_use", id: "call_e", name: "Bash", input: { command: "true" } },
    ]);
  });

  it("an error chunk mid-stream: Anthropic's error event with the upstream's message, at once; broken() adds nothing", async () => {
    const bridge = messagesToChat.stream(CONTEXT);
    const parser = new SseParser();
    const body = sseText([
      OPENING,
      content("Partial"),
      { error: { message: "Upstream model crashed", type: "server_error", code: "internal" } },
      content(" never shown"),
    ]);
    let text = bridge.push(parser.push(new TextEncoder().encode(body)));
    const end = bridge.end();
    expect(end.complete).toBe(false);
    text += end.text + bridge.broken("stopped");
    const streamed = assertAnthropicStream(parseAnthropicSse(text));
    expect(streamed.error).toEqual({ type: "overloaded_error", message: "Upstream model crashed" });
    expect(text).not.toContain("never shown");
    expect(text.match(/event: error/g)).toHaveLength(1);
    await expect(sdkMessage(text)).rejects.toMatchObject({ type: "overloaded_error" });
  });

  it("a host's named `event: error` is an error too", async () => {
    const bridge = messagesToChat.stream(CONTEXT);
    const body = `${sseText([chunk({ role: "assistant", content: "" })])}event: error\ndata: {"message":"quota exceeded","code":429}\n\n`;
    const text = bridge.push(new SseParser().push(new TextEncoder().encode(body)));
    expect(assertAnthropicStream(parseAnthropicSse(text)).error).toEqual({
      type: "overloaded_error",
      message: "quota exceeded",
    });
  });

  it("message_start goes out on the first push, even an empty one (the upstream's headers)", () => {
    const bridge = messagesToChat.stream(CONTEXT);
    const first = parseAnthropicSse(bridge.push([]));
    expect(first.map((e) => e.event)).toEqual(["message_start"]);
    expect(bridge.end().complete).toBe(false);
    expect(parseAnthropicSse(bridge.broken("gone")).map((e) => e.event)).toEqual(["error"]);
  });
});

describe("a whole chat completion as a Message", () => {
  it("reasoning, text and calls become signed thinking, text and tool_use; usage as Anthropic's", () => {
    const message = messagesToChat.answer(
      {
        id: "cmpl-1",
        object: "chat.completion",
        model: "kimi-k2",
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: "Checking.",
              reasoning_content: "I should look.",
              tool_calls: [
                {
                  id: "functions.Read:0",
                  type: "function",
                  function: { name: "Read", arguments: '{"path":"x"}' },
                },
              ],
            },
            finish_reason: "tool_calls",
          },
        ],
        usage: DEEPSEEK_USAGE,
      },
      CONTEXT,
    );
    expect(message).toEqual({
      id: "msg_cmpl-1",
      type: "message",
      role: "assistant",
      model: MODEL,
      content: [
        thinking("I should look."),
        { type: "text", text: "Checking." },
        {
          type: "tool_use",
          id: anthropicToolId("functions.Read:0"),
          name: "Read",
          input: { path: "x" },
        },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: {
        input_tokens: 58,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 1_152,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
        output_tokens: 96,
        service_tier: "standard",
      },
    });
  });

  it.each([
    ["stop", "end_turn"],
    ["length", "max_tokens"],
    ["tool_calls", "tool_use"],
    ["function_call", "tool_use"],
    ["content_filter", "refusal"],
    [null, "end_turn"],
  ])("finish_reason %s → stop_reason %s", (finish, stop) => {
    const message = messagesToChat.answer(
      { choices: [{ message: { role: "assistant", content: "x" }, finish_reason: finish }] },
      CONTEXT,
    );
    expect(message.stop_reason).toBe(stop);
  });

  it("a stop sequence the host says it matched (vLLM's stop_reason) is stop_sequence, streamed or whole", async () => {
    const whole = messagesToChat.answer(
      {
        choices: [
          {
            message: { role: "assistant", content: "a" },
            finish_reason: "stop",
            stop_reason: "END",
          },
        ],
      },
      CONTEXT,
    );
    expect(whole).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "END" });
    const { message } = await check([
      chunk({ role: "assistant", content: "a" }),
      {
        ...chunk({}),
        choices: [{ index: 0, delta: {}, finish_reason: "stop", stop_reason: "END" }],
      },
      DONE,
    ]);
    expect(message).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "END" });
  });

  it("an empty content beside tool calls gives no text block", () => {
    const message = messagesToChat.answer(
      {
        choices: [
          {
            message: {
              role: "assistant",
              content: "",
              tool_calls: [{ id: "c", function: { name: "A", arguments: "" } }],
            },
            finish_reason: "tool_calls",
          },
        ],
      },
      CONTEXT,
    );
    expect(message.content).toEqual([{ type: "tool_use", id: "c", name: "A", input: {} }]);
  });
});

describe("upstream refusals in Anthropic's terms", () => {
  it.each([
    [400, 400, "invalid_request_error"],
    [422, 422, "invalid_request_error"],
    [404, 404, "not_found_error"],
    [413, 413, "request_too_large"],
    [429, 429, "rate_limit_error"],
    // sluice's key or account at the upstream, not the client's: never a 401 to Claude Code.
    [401, 529, "overloaded_error"],
    [402, 529, "overloaded_error"],
    [403, 529, "overloaded_error"],
    [500, 529, "overloaded_error"],
  ])("%i → %i %s, the upstream's message kept", (status, expected, type) => {
    const message = "The `reasoning_content` in the thinking mode must be passed back to the API.";
    expect(messagesToChat.error(status, { message, type: "invalid_request_error" })).toEqual({
      status: expected,
      type,
      message,
    });
  });

  it("an error without a message says which status it was", () => {
    expect(messagesToChat.error(400, {}).message).toContain("400");
  });
});

/** The request conversion, with the channel's options. */
function request(body: Fields, options?: Fields): Fields {
  return messagesToChat.request(
    { model: MODEL, max_tokens: 1024, ...body },
    { model: MODEL, ...(options && { options }) },
  );
}

function refusal(run: () => unknown): InvalidRequest {
  try {
    run();
  } catch (err) {
    if (err instanceof InvalidRequest) return err;
    throw err;
  }
  throw new Error("the request was converted");
}

const USER = { role: "user", content: "hi" };

describe("Messages requests as chat requests", () => {
  it.each([
    ["a string", "Be terse.", "Be terse."],
    [
      "text blocks (cache_control with ttl, the billing block removed)",
      [
        { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.332; cch=abc;" },
        {
          type: "text",
          text: "You are Claude Code.",
          cache_control: { type: "ephemeral", ttl: "1h" },
        },
        { type: "text", text: "Be terse." },
      ],
      "You are Claude Code.\n\nBe terse.",
    ],
  ])("system as %s → one system message", (_, system, expected) => {
    const out = request({ system, messages: [USER] });
    expect(out.messages).toEqual([
      { role: "system", content: expected },
      { role: "user", content: "hi" },
    ]);
  });

  it("no system, only the billing block: no system message", () => {
    const out = request({
      system: [{ type: "text", text: "x-anthropic-billing-header: cch=1;" }],
      messages: [USER],
    });
    expect(out.messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("system turns inside messages: folded into the system prompt before the talk, into the next user message as <system-reminder> after, never a 400", () => {
    const messages = [
      { role: "system", content: "Early rule." },
      USER,
      { role: "assistant", content: "Hello." },
      {
        role: "system",
        content: [{ type: "text", text: "Mid rule." }],
        output_config: { effort: "low" },
      },
      { role: "user", content: [{ type: "text", text: "again" }] },
      { role: "system", content: "Late rule." },
    ];
    expect(request({ system: "Top.", messages }).messages).toEqual([
      { role: "system", content: "Top.\n\nEarly rule." },
      { role: "user", content: "hi" },
      { role: "assistant", content: "Hello." },
      {
        role: "user",
        content:
          "<system-reminder>\nMid rule.\n</system-reminder>\n\nagain\n\n<system-reminder>\nLate rule.\n</system-reminder>",
      },
    ]);
    expect(request({ messages }, { system_turns: "keep" }).messages).toEqual([
      { role: "system", content: "Early rule." },
      { role: "user", content: "hi" },
      { role: "assistant", content: "Hello." },
      { role: "system", content: "Mid rule." },
      { role: "user", content: "again" },
      { role: "system", content: "Late rule." },
    ]);
  });

  it("tool results become tool messages before the rest of the turn; is_error marked; images they return follow in a user message", () => {
    const png = "iVBORw0KGgo=";
    const out = request({
      messages: [
        USER,
        {
          role: "assistant",
          content: [
            { type: "tool_use", id: "toolu_a", name: "Screenshot", input: {} },
            { type: "tool_use", id: "toolu_b", name: "Bash", input: { command: "false" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "text", text: "Here you go." },
            {
              type: "tool_result",
              tool_use_id: "toolu_a",
              content: [
                { type: "text", text: "captured" },
                { type: "image", source: { type: "base64", media_type: "image/jpg", data: png } },
              ],
              cache_control: { type: "ephemeral" },
            },
            { type: "tool_result", tool_use_id: "toolu_b", content: "exit 1", is_error: true },
          ],
        },
      ],
    });
    expect(out.messages).toEqual([
      { role: "user", content: "hi" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "toolu_a", type: "function", function: { name: "Screenshot", arguments: "{}" } },
          {
            id: "toolu_b",
            type: "function",
            function: { name: "Bash", arguments: '{"command":"false"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "toolu_a", content: "captured" },
      { role: "tool", tool_call_id: "toolu_b", content: "Error: exit 1" },
      {
        role: "user",
        content: [
          { type: "text", text: "Image returned by Screenshot:" },
          { type: "image_url", image_url: { url: `data:image/jpeg;base64,${png}` } },
          { type: "text", text: "Here you go." },
        ],
      },
    ]);
  });

  it("images: base64 as a data URI (media type normalised), a URL as it is", () => {
    const out = request({
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/PNG", data: "AAAA" } },
            { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
            { type: "text", text: "What are these?" },
          ],
        },
      ],
    });
    expect(out.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          { type: "image_url", image_url: { url: "https://example.com/a.png" } },
          { type: "text", text: "What are these?" },
        ],
      },
    ]);
  });

  it("cache_control (and its ttl) is removed everywhere; the `keep` option keeps {type} on content parts and never ttl", () => {
    const body = {
      system: [{ type: "text", text: "S", cache_control: { type: "ephemeral", ttl: "1h" } }],
      tools: [
        {
          name: "Bash",
          input_schema: { type: "object" },
          cache_control: { type: "ephemeral", ttl: "5m" },
          defer_loading: true,
        },
      ],
      messages: [
        {
          role: "user",
          content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral", ttl: "1h" } }],
        },
      ],
    };
    const dropped = JSON.stringify(request(body));
    expect(dropped).not.toContain("cache_control");
    expect(dropped).not.toContain("ttl");
    expect(dropped).not.toContain("defer_loading");
    const kept = request(body, { cache_control: "keep" });
    expect((kept.messages as Fields[])[1]).toEqual({
      role: "user",
      content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }],
    });
    expect(JSON.stringify(kept)).not.toContain("ttl");
  });

  const withThinking = [
    USER,
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "Need a tool.", signature: mintSignature("Need a tool.") },
        { type: "redacted_thinking", data: "opaque" },
        { type: "tool_use", id: "t1", name: "Bash", input: { command: "ls" } },
      ],
    },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "a b" }] },
    { role: "assistant", content: "Done." },
    { role: "user", content: "thanks" },
  ];
  const plain = [USER, { role: "assistant", content: "Hello." }, { role: "user", content: "bye" }];
  const assistants = (out: Fields) =>
    (out.messages as Fields[]).filter((m) => m.role === "assistant");

  it.each([
    ["auto", "a history with thinking", withThinking, ["Need a tool.", ""]],
    ["auto", "a plain history", plain, [undefined]],
    ["echo", "a history with thinking", withThinking, ["Need a tool.", ""]],
    ["echo", "a plain history", plain, [""]],
    ["omit", "a history with thinking", withThinking, [undefined, undefined]],
  ])("reasoning_content %s on %s", (option, _, messages, expected) => {
    const out = request({ messages }, { reasoning_content: option });
    expect(assistants(out).map((m) => m.reasoning_content)).toEqual(expected);
    expect(JSON.stringify(out)).not.toContain("opaque");
  });

  it.each([
    ["api.openai.com", { channel: "openai", baseUrl: "https://api.openai.com/v1" }, undefined],
    ["Azure OpenAI", { channel: "azure", baseUrl: "https://r.example.com" }, undefined],
    [
      "an Azure resource host",
      { channel: "openai", baseUrl: "https://r.openai.azure.com/" },
      undefined,
    ],
    ["DeepSeek", { channel: "openai", baseUrl: "https://api.deepseek.com" }, "Need a tool."],
  ])("reasoning_content auto on %s", (_, channel, expected) => {
    const out = request({ messages: withThinking }, channel);
    expect(assistants(out)[0]?.reasoning_content).toBe(expected);
    // An explicit echo is the operator's word, whatever the host.
    const echoed = request({ messages: withThinking }, { ...channel, reasoning_content: "echo" });
    expect(assistants(echoed)[0]?.reasoning_content).toBe("Need a tool.");
  });

  it('a channel\'s config (strings) sets efforts as a comma list and pdf as "true"', () => {
    const adaptive = (effort: string, options: Fields) =>
      request(
        { messages: [USER], thinking: { type: "adaptive" }, output_config: { effort } },
        options,
      ).reasoning_effort;
    expect(adaptive("max", { efforts: " xhigh , max " })).toBe("max");
    expect(adaptive("max", { efforts: "xhigh" })).toBe("xhigh");
    expect(adaptive("max", { efforts: "" })).toBe("high");
    const pdf = [
      {
        role: "user",
        content: [
          {
            type: "document",
            source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" },
          },
        ],
      },
    ];
    expect(JSON.stringify(request({ messages: pdf }, { pdf: "true" }))).toContain('"file"');
    expect(refusal(() => request({ messages: pdf }, { pdf: "false" })).param).toBe(
      "messages[0].content[0]",
    );
  });

  it.each([
    [{}, undefined],
    [
      { reasoning_content: "echo", system_turns: "keep", pdf: "true", efforts: "xhigh,max" },
      undefined,
    ],
    [{ cache_control: "keep", limit_field: "max_completion_tokens", edits: "native" }, undefined],
    [{ reasoning_content: "yes" }, "config.reasoning_content must be one of auto, echo, omit"],
    [{ system_turns: "drop" }, "config.system_turns must be one of fold, keep"],
    [{ pdf: "1" }, "config.pdf must be one of true, false"],
    [{ cache_control: "ttl" }, "config.cache_control must be one of drop, keep"],
    [{ limit_field: "max" }, "config.limit_field must be one of max_tokens"],
    [{ efforts: "xhigh,,max" }, "config.efforts must be a comma list"],
    [{ efforts: "x high" }, "config.efforts must be a comma list"],
  ])("channel config %j: %s", (config, problem) => {
    const found = messagesToChatConfigProblem(config as Record<string, string>);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found && renderEn(found)).toContain(problem);
  });

  it.each([
    [{ type: "enabled", budget_tokens: 1024 }, undefined, {}, "low"],
    [{ type: "enabled", budget_tokens: 4096 }, undefined, {}, "medium"],
    [{ type: "enabled", budget_tokens: 16384 }, undefined, {}, "high"],
    [{ type: "adaptive" }, "medium", {}, "medium"],
    [{ type: "adaptive" }, "max", {}, "high"],
    [{ type: "adaptive" }, "xhigh", { efforts: ["xhigh"] }, "xhigh"],
    [{ type: "adaptive" }, "max", { efforts: ["xhigh"] }, "xhigh"],
    [{ type: "adaptive" }, "max", { efforts: ["xhigh", "max"] }, "max"],
    [{ type: "adaptive" }, undefined, {}, undefined],
    [{ type: "disabled" }, "high", {}, undefined],
    [undefined, undefined, {}, undefined],
  ])(
    "thinking %j with effort %s (channel %j) → reasoning_effort %s",
    (thinkingField, effort, options, expected) => {
      const out = request(
        {
          messages: [USER],
          ...(thinkingField && { thinking: thinkingField }),
          ...(effort && { output_config: { effort } }),
        },
        options,
      );
      expect(out.reasoning_effort).toBe(expected);
      expect(out).not.toHaveProperty("thinking");
      expect(out).not.toHaveProperty("output_config");
    },
  );

  it("server and typed tools are refused with a 400 naming every one of them", () => {
    const err = refusal(() =>
      request({
        messages: [USER],
        tools: [
          { name: "Bash", input_schema: { type: "object" } },
          { type: "web_search_20250305", name: "web_search", max_uses: 5 },
          { type: "text_editor_20250728", name: "str_replace_based_edit_tool" },
        ],
      }),
    );
    expect(err.param).toBe("tools");
    expect(err.message).toContain("web_search (web_search_20250305, tools[1])");
    expect(err.message).toContain("str_replace_based_edit_tool (text_editor_20250728, tools[2])");
  });

  it("a PDF is a file part on a channel that takes them, else a 400 naming the block", () => {
    const messages = [
      {
        role: "user",
        content: [
          { type: "text", text: "Summarise." },
          {
            type: "document",
            source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" },
          },
        ],
      },
    ];
    expect(refusal(() => request({ messages })).param).toBe("messages[0].content[1]");
    expect((request({ messages }, { pdf: true }).messages as Fields[])[0]?.content).toEqual([
      { type: "text", text: "Summarise." },
      {
        type: "file",
        file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "document.pdf" },
      },
    ]);
  });

  it("tools, tool_choice, limits, sampling and streaming map to chat's fields; the rest is left out", () => {
    const out = request({
      stream: true,
      temperature: 0.2,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ["END"],
      metadata: { user_id: "u" },
      service_tier: "auto",
      context_management: { edits: [] },
      tools: [
        { name: "Bash", description: "Run.", input_schema: { type: "object", properties: {} } },
      ],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      messages: [USER],
    });
    expect(out).toEqual({
      model: MODEL,
      messages: [{ role: "user", content: "hi" }],
      tools: [
        {
          type: "function",
          function: {
            name: "Bash",
            description: "Run.",
            parameters: { type: "object", properties: {} },
          },
        },
      ],
      tool_choice: "required",
      parallel_tool_calls: false,
      max_tokens: 1024,
      stop: ["END"],
      temperature: 0.2,
      top_p: 0.9,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(request({ messages: [USER] }, { limit_field: "max_completion_tokens" })).toEqual({
      model: MODEL,
      messages: [{ role: "user", content: "hi" }],
      max_completion_tokens: 1024,
    });
    expect(
      request({
        messages: [USER],
        tools: [{ name: "A", input_schema: {} }],
        tool_choice: { type: "tool", name: "A" },
      }).tool_choice,
    ).toEqual({
      type: "function",
      function: { name: "A" },
    });
    expect(
      refusal(() => request({ messages: [USER], stop_sequences: ["1", "2", "3", "4", "5"] })).param,
    ).toBe("stop_sequences");
    expect(
      refusal(() => request({ messages: [USER], mcp_servers: [{ type: "url", url: "https://x" }] }))
        .param,
    ).toBe("mcp_servers");
  });
});

const messagesOf = (cleaned: ReturnType<typeof cleanSluiceThinking>) =>
  (cleaned?.body.messages ?? []) as Fields[];

describe("malformed input", () => {
  it("a malformed Messages body is converted or refused with a 400 naming the field, never a crash", () => {
    const bodies: Fields[] = [
      { messages: [null] },
      { messages: [{ role: "tool", content: "x" }] },
      { messages: [{ role: "user", content: [5] }] },
      { messages: [{ role: "user", content: [{ type: "image" }] }] },
      {
        messages: [
          { role: "user", content: [{ type: "image", source: { type: "file", file_id: "f" } }] },
        ],
      },
      {
        messages: [
          {
            role: "user",
            content: [{ type: "document", source: { type: "url", url: "https://x/a.pdf" } }],
          },
        ],
      },
      { messages: [{ role: "user", content: [{ type: "search_result" }] }] },
      {
        messages: [
          {
            role: "assistant",
            content: [{ type: "server_tool_use", id: "s", name: "web_search" }],
          },
        ],
      },
      { messages: [{ role: "assistant", content: [null] }] },
      { messages: [USER], tools: [null] },
      { messages: [USER], tools: "Bash" },
      {
        messages: 5,
        system: 5,
        thinking: 5,
        tool_choice: "auto",
        stop_sequences: "x",
        output_config: 5,
      },
      {
        messages: [
          { role: "user", content: null },
          { role: "assistant", content: 7 },
        ],
      },
      {
        messages: [
          {
            role: "user",
            content: [{ type: "tool_result", content: [null, 5, { type: "image" }] }],
          },
        ],
      },
      { messages: [{ role: "system", content: [{ type: "image" }] }, USER] },
    ];
    for (const body of bodies) {
      try {
        const out = request(body);
        expect(Array.isArray(out.messages), JSON.stringify(body)).toBe(true);
      } catch (err) {
        expect(err, JSON.stringify(body)).toBeInstanceOf(InvalidRequest);
        expect((err as InvalidRequest).param, JSON.stringify(body)).toMatch(/^(messages|tools)/);
      }
    }
  });

  it("malformed chunks are skipped; the stream still keeps its grammar", async () => {
    const { message } = await check([
      "not json",
      "5",
      "null",
      { choices: "x" },
      { choices: [null, { delta: { content: 5, tool_calls: "x", reasoning_content: 7 } }] },
      {
        choices: [
          {
            delta: {
              tool_calls: [
                null,
                { index: "a", function: { name: "Bash", arguments: { command: "ls" } } },
              ],
            },
          },
        ],
      },
      chunk({ content: "ok" }),
      chunk({}, "tool_calls"),
      DONE,
    ]);
    expect(message.content).toEqual([
      {
        type: "tool_use",
        id: expect.stringMatching(/^toolu_/),
        name: "Bash",
        input: { command: "ls" },
      },
      { type: "text", text: "ok" },
    ]);
  });
});

describe("sluice's thinking signatures", () => {
  it("are minted from the text, recognised, and never confused with Anthropic's", () => {
    expect(mintSignature("abc")).toMatch(/^sluice1\.[A-Za-z0-9_-]{22}$/);
    expect(mintSignature("abc")).toBe(mintSignature("abc"));
    expect(mintSignature("abc")).not.toBe(mintSignature("abd"));
    expect(isSluiceSignature(mintSignature(""))).toBe(true);
    expect(isSluiceSignature("EqQBCkgIARABGAIiQL…")).toBe(false);
    expect(isSluiceSignature(undefined)).toBe(false);
  });

  it("cleaning a history: undefined when it holds none (bytes go through); else only sluice's blocks go, Anthropic's (empty ones too) stay", () => {
    const anthropic = { type: "thinking", thinking: "", signature: "EqQBCkgIARAB" };
    expect(
      cleanSluiceThinking({
        messages: [USER, { role: "assistant", content: [anthropic, { type: "text", text: "a" }] }],
      }),
    ).toBeUndefined();
    const body = {
      thinking: { type: "enabled", budget_tokens: 2048 },
      messages: [
        USER,
        { role: "assistant", content: [anthropic, { type: "text", text: "a" }] },
        { role: "user", content: "next" },
        { role: "assistant", content: [thinking("mine"), { type: "text", text: "b" }] },
        { role: "user", content: "again" },
      ],
    };
    const cleaned = cleanSluiceThinking(body);
    expect(cleaned?.thinkingDropped).toBe(false);
    expect(cleaned?.body.thinking).toEqual(body.thinking);
    expect(messagesOf(cleaned)[1]).toEqual(body.messages[1]);
    expect(messagesOf(cleaned)[3]).toEqual({
      role: "assistant",
      content: [{ type: "text", text: "b" }],
    });
    expect(JSON.stringify(body)).toContain("sluice1."); // the input is not changed
  });

  it("a tool turn that loses its only thinking block, with thinking enabled, is sent without thinking (the escape Anthropic's error names)", () => {
    const messages = [
      USER,
      {
        role: "assistant",
        content: [thinking("t"), { type: "tool_use", id: "t1", name: "Bash", input: {} }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "ok" }] },
    ];
    const enabled = cleanSluiceThinking({
      thinking: { type: "enabled", budget_tokens: 2048 },
      messages,
    });
    expect(enabled?.thinkingDropped).toBe(true);
    expect(enabled?.body).not.toHaveProperty("thinking");
    const adaptive = cleanSluiceThinking({ thinking: { type: "adaptive" }, messages });
    expect(adaptive?.thinkingDropped).toBe(false);
    expect(adaptive?.body.thinking).toEqual({ type: "adaptive" });
    const onlyThinking = cleanSluiceThinking({
      messages: [USER, { role: "assistant", content: [thinking("t")] }],
    });
    expect(messagesOf(onlyThinking)[1]?.content).toEqual([{ type: "text", text: "(empty)" }]);
  });
});

describe("against the DeepSeek fixture", () => {
  const KEY = "sk-deepseek-demo";
  let upstream: DemoUpstream;

  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: KEY, deepseekModels: ["deepseek-v4-flash"] });
  });
  afterAll(() => upstream.close());

  async function call(chat: Fields): Promise<Response> {
    return fetch(`${upstream.origin}/deepseek/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ ...chat, model: "deepseek-v4-flash" }),
    });
  }

  /** One Messages turn: converted, sent, its stream converted back and read by the SDK. */
  async function turn(body: Fields, options?: Fields) {
    const chat = messagesToChat.request(body, { model: MODEL, ...(options && { options }) });
    const response = await call(chat);
    if (!response.ok) return { status: response.status, error: await response.text() };
    const bridge = messagesToChat.stream(CONTEXT);
    const parser = new SseParser();
    let text = bridge.push([]);
    for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>)
      text += bridge.push(parser.push(piece));
    text += bridge.push(parser.end());
    const end = bridge.end();
    text += end.text;
    expect(end.complete).toBe(true);
    assertAnthropicStream(parseAnthropicSse(text));
    return { status: 200, message: await sdkMessage(text), metered: bridge.metered() };
  }

  const BASH = {
    name: "Bash",
    description: "Runs a shell command.",
    input_schema: {
      type: "object",
      properties: { command: { type: "string" } },
      required: ["command"],
    },
    cache_control: { type: "ephemeral", ttl: "1h" },
  };

  it("a two-turn tool conversation with thinking passes its checks (reasoning passed back, cache_control gone); without the echo it is refused", async () => {
    const first = {
      model: MODEL,
      max_tokens: 2048,
      stream: true,
      thinking: { type: "enabled", budget_tokens: 1024 },
      system: [
        { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.332; cch=00000;" },
        {
          type: "text",
          text: "You are a coding agent.",
          cache_control: { type: "ephemeral", ttl: "1h" },
        },
      ],
      tools: [BASH],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "USE_BASH to greet", cache_control: { type: "ephemeral" } },
          ],
        },
      ],
    };
    const one = await turn(first);
    expect(one.status, one.error).toBe(200);
    const message = one.message as Anthropic.Message;
    expect(message.content.map((b) => b.type)).toEqual(["thinking", "text", "tool_use"]);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(one.metered?.inputTokens).toBe(message.usage.input_tokens);
    const used = message.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
    expect(used.input).toEqual({ command: "echo hello-from-tool", description: "Echo a greeting" });

    const second = {
      ...first,
      messages: [
        ...first.messages,
        { role: "assistant", content: message.content },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: used.id, content: "hello-from-tool" }],
        },
      ],
    };
    const two = await turn(second);
    expect(two.status, two.error).toBe(200);
    expect((two.message as Anthropic.Message).content.at(-1)).toEqual({
      type: "text",
      text: "tool done: hello-from-tool",
    });
    // The same history with the reasoning left out is what DeepSeek refuses.
    const omitted = await turn(second, { reasoning_content: "omit" });
    expect(omitted.status).toBe(400);
    expect(omitted.error).toContain("must be passed back");
    // And cache_control, had it gone up, is what the fixture refuses.
    const raw = await call({ ...messagesToChat.request(second, CONTEXT), tools: [{ ...BASH }] });
    expect(raw.status).toBe(422);
  });

  it("parallel calls from the fixture (interleaved, random fragments) come out as two whole tool_use blocks", async () => {
    const result = await turn({
      model: MODEL,
      max_tokens: 1024,
      stream: true,
      tools: [BASH],
      messages: [{ role: "user", content: "PARALLEL please" }],
    });
    const message = result.message as Anthropic.Message;
    expect(
      message.content
        .filter((b) => b.type === "tool_use")
        .map((b) => (b as Anthropic.ToolUseBlock).input),
    ).toEqual([{ command: "echo one" }, { command: "echo 'twó 😀'" }]);
  });
});

describe("count_tokens counted by sluice", () => {
  const KEY = "sk-count";
  let upstream: DemoUpstream;

  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: KEY, deepseekModels: ["deepseek-v4-flash"] });
  });
  afterAll(() => upstream.close());

  /** What the Anthropic fixture's count_tokens answers for a body. */
  async function anthropicCount(body: Fields): Promise<number> {
    const response = await fetch(`${upstream.origin}/v1/messages/count_tokens`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-api-key": KEY,
        "anthropic-version": "2023-06-01",
      },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return ((await response.json()) as { input_tokens: number }).input_tokens;
  }

  /** The prompt_tokens the DeepSeek fixture reports for the body, converted by the bridge. */
  async function deepseekCount(body: Fields): Promise<number> {
    const chat = messagesToChat.request(
      { ...body, max_tokens: 16 },
      { model: MODEL, options: { reasoning_content: "echo" } },
    );
    const response = await fetch(`${upstream.origin}/deepseek/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ ...chat, model: "deepseek-v4-flash" }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return ((await response.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
  }

  const claudeCodeLike = {
    model: MODEL,
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.332; cch=00000;" },
      {
        type: "text",
        text: "You are Claude Code, Anthropic's official CLI for Claude. ".repeat(40),
      },
    ],
    tools: ["Bash", "Read", "Edit", "Grep"].map((name) => ({
      name,
      description: `${name} tool: does what its name says, with care for the working tree. `.repeat(
        6,
      ),
      input_schema: {
        type: "object",
        properties: {
          path: { type: "string", description: "Absolute path of the file." },
          command: { type: "string", description: "The command to run." },
        },
        required: ["path"],
      },
    })),
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "<system-reminder>\nContext follows.\n</system-reminder>" },
          { type: "text", text: "Fix the failing test in src/app.ts please." },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Reading the file." },
          { type: "tool_use", id: "toolu_1", name: "Read", input: { path: "/repo/src/app.ts" } },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: "toolu_1",
            content: "export function add(a: number, b: number) {\n  return a - b;\n}\n".repeat(30),
          },
        ],
      },
    ],
  };

  it("is within 10% (or 8 tokens) of both fixtures' counts (Anthropic's count_tokens, DeepSeek's prompt_tokens) for plain, system, and Claude Code-like bodies; the errors are reported", async () => {
    const bodies: Fields[] = [
      { model: MODEL, messages: [{ role: "user", content: "Hello there, how are you today?" }] },
      {
        model: MODEL,
        system: "You are terse.",
        messages: [{ role: "user", content: "Summarise the plot of Hamlet in three sentences." }],
      },
      claudeCodeLike,
    ];
    const errors: Record<string, string[]> = { anthropic: [], deepseek: [] };
    for (const body of bodies) {
      const ours = await countMessagesTokens(body);
      for (const [name, theirs] of [
        ["anthropic", await anthropicCount(body)],
        ["deepseek", await deepseekCount(body)],
      ] as const) {
        const error = (ours - theirs) / theirs;
        errors[name]?.push(`${ours} vs ${theirs} (${(error * 100).toFixed(1)}%)`);
        // A few tokens of framing apart on tiny bodies; within 10% on real ones.
        expect(Math.abs(ours - theirs), name).toBeLessThanOrEqual(Math.max(0.1 * theirs, 8));
      }
    }
    console.info(`count_tokens, sluice vs the fixtures: ${JSON.stringify(errors)}`);
  });

  it("counts system, tools and messages, and leaves the billing block out", async () => {
    const base = { model: MODEL, messages: [USER] };
    const bare = await countMessagesTokens(base);
    expect(await countMessagesTokens({ ...base, system: "You are terse." })).toBeGreaterThan(bare);
    expect(await countMessagesTokens({ ...base, tools: claudeCodeLike.tools })).toBeGreaterThan(
      bare + 100,
    );
    expect(
      await countMessagesTokens({
        ...base,
        system: [{ type: "text", text: "x-anthropic-billing-header: cch=123456;" }],
      }),
    ).toBe(bare);
  });
});

describe("hosts that number every tool call 0, or not at all", () => {
  /** A whole call in one chunk, as hosts that do not stream arguments send it. */
  const wholeCall = (id: string, command: string, index?: number) =>
    chunk({
      tool_calls: [
        {
          ...(index === undefined ? {} : { index }),
          id,
          type: "function",
          function: { name: "Bash", arguments: JSON.stringify({ command }) },
        },
      ],
    });

  it.each([
    ["index 0 on every call", 0],
    ["no index", undefined],
  ])("%s: a new id is a new call, each its own tool_use block", async (_, index) => {
    const { message } = await check([
      chunk({ role: "assistant", content: "" }),
      wholeCall("call_a", "ls", index),
      wholeCall("call_b", "pwd", index),
      chunk({}, "tool_calls"),
      usageChunk(DEEPSEEK_USAGE),
      DONE,
    ]);
    expect(message.content).toEqual([
      { type: "tool_use", id: "call_a", name: "Bash", input: { command: "ls" } },
      { type: "tool_use", id: "call_b", name: "Bash", input: { command: "pwd" } },
    ]);
  });

  it("index 0 on every call, arguments streamed after each call's first fragment: each fragment in its own call", async () => {
    const { message } = await check([
      chunk({ role: "assistant", content: null }),
      toolOpen(0, "call_a", "Read"),
      toolArgs(0, '{"path":'),
      toolArgs(0, '"a.txt"}'),
      toolOpen(0, "call_b", "Read"),
      toolArgs(0, '{"path":"b'),
      toolArgs(0, '.txt"}'),
      chunk({}, "tool_calls"),
      DONE,
    ]);
    expect(message.content).toEqual([
      { type: "tool_use", id: "call_a", name: "Read", input: { path: "a.txt" } },
      { type: "tool_use", id: "call_b", name: "Read", input: { path: "b.txt" } },
    ]);
  });

  it("a host that repeats a call's id on every fragment still makes one call", async () => {
    const { message } = await check([
      chunk({ role: "assistant", content: null }),
      chunk({
        tool_calls: [{ index: 0, id: "call_a", function: { name: "Read", arguments: "" } }],
      }),
      chunk({ tool_calls: [{ index: 0, id: "call_a", function: { arguments: '{"path":' } }] }),
      chunk({ tool_calls: [{ index: 0, id: "call_a", function: { arguments: '"a.txt"}' } }] }),
      chunk({}, "tool_calls"),
      DONE,
    ]);
    expect(message.content).toEqual([
      { type: "tool_use", id: "call_a", name: "Read", input: { path: "a.txt" } },
    ]);
  });
});
