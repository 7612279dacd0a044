import OpenAI from "openai";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../../infra/local/demo-upstream";
import { InvalidRequest } from "../../../shared/errors";
import type { BridgeContext } from "../../../shared/relay/bridges/bridge";
import {
  BRIDGED_ANTHROPIC_VERSION,
  chatToMessages,
} from "../../../shared/relay/bridges/chat-to-messages/index";
import { takesAdaptiveThinking } from "../../../shared/relay/bridges/chat-to-messages/options";
import { SseParser } from "../../../shared/stream/sse";
import { assertAnthropicStream, parseAnthropicSse } from "../../fixtures/anthropic-stream";
import { accumulateChat, runThrough } from "./stream-harness";

/**
 * The chat → Messages bridge (design brief §6.4): OpenAI chat clients on a Claude channel.
 * Streams are Anthropic's as its docs describe them (checked by assertAnthropicStream), cut
 * into network chunks at odd places, converted, and read back by the official openai SDK's
 * own stream accumulator, as a client would read them.
 */

const MODEL = "claude-sonnet-4-5";
const CONTEXT: BridgeContext = { model: "my-claude", options: { includeUsage: true } };

type Event = Record<string, unknown>;

/** Anthropic's SSE text for these events (`event:` repeats the data's type, as Anthropic sends). */
function sse(events: Event[]): string {
  return events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join("");
}

/**
 * Runs Anthropic's SSE text through the bridge, cut into `piece`-byte network chunks; returns
 * the chat SSE text the client gets and the bridge (for end/metered).
 */
function convert(text: string, context = CONTEXT, piece = 7) {
  const bridge = chatToMessages.stream(context);
  return { ...runThrough(bridge, text, piece), bridge };
}

/** The chat SSE text as the openai SDK reads it: its chunks, and its accumulated completion. */
const accumulate = (text: string) => accumulateChat(text, "my-claude");

/** The reasoning text the chunks carried (the SDK keeps only the last fragment of unknown fields). */
function reasoningOf(chunks: ChatCompletionChunk[]): string {
  return chunks
    .map(
      (c) =>
        (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ??
        "",
    )
    .join("");
}

/** The first choice's message of a chat completion, as a plain object. */
function messageOf(completion: unknown): Event {
  const choices = (completion as { choices?: { message?: Event }[] }).choices;
  const message = choices?.[0]?.message;
  if (!message) throw new Error("no message in the completion");
  return message;
}

const SIGNATURE =
  "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDOf6k8b2lE5z2yIiIwYj2+/Wd0c7ZkR3QYtZfDgp0jkB0Xmc=";

function messageStart(usage: Event = {}): Event {
  return {
    type: "message_start",
    message: {
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      type: "message",
      role: "assistant",
      content: [],
      model: MODEL,
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 472,
        cache_creation_input_tokens: 3000,
        cache_read_input_tokens: 20000,
        cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
        output_tokens: 2,
        service_tier: "standard",
        ...usage,
      },
    },
  };
}

const start = (index: number, block: Event): Event => ({
  type: "content_block_start",
  index,
  content_block: block,
});
const delta = (index: number, d: Event): Event => ({
  type: "content_block_delta",
  index,
  delta: d,
});
const stop = (index: number): Event => ({ type: "content_block_stop", index });
const PING = { type: "ping" };

/** Thinking, text, and two tools at once whose inputs come in fragments split mid-token. */
const THINK_AND_TOOLS: Event[] = [
  messageStart(),
  PING,
  start(0, { type: "thinking", thinking: "", signature: "" }),
  delta(0, { type: "thinking_delta", thinking: "The user wants the weather " }),
  delta(0, { type: "thinking_delta", thinking: "in two cities — I'll ask for both." }),
  delta(0, { type: "signature_delta", signature: SIGNATURE }),
  stop(0),
  start(1, { type: "text", text: "" }),
  delta(1, { type: "text_delta", text: "Checking both " }),
  delta(1, { type: "text_delta", text: "cities… 🌦" }),
  stop(1),
  PING,
  start(2, {
    type: "tool_use",
    id: "toolu_01A09q90qw90lq917835lq9",
    name: "get_weather",
    input: {},
  }),
  delta(2, { type: "input_json_delta", partial_json: "" }),
  delta(2, { type: "input_json_delta", partial_json: '{"loc' }),
  delta(2, { type: "input_json_delta", partial_json: 'ation": "Zür' }),
  delta(2, { type: "input_json_delta", partial_json: 'ich \\u00e9"}' }),
  stop(2),
  start(3, { type: "tool_use", id: "toolu_01B7x2", name: "get_weather", input: {} }),
  delta(3, { type: "input_json_delta", partial_json: '{"location": "Paris", "unit": "c' }),
  delta(3, { type: "input_json_delta", partial_json: 'elsius"}' }),
  stop(3),
  {
    type: "message_delta",
    delta: { stop_reason: "tool_use", stop_sequence: null },
    usage: {
      input_tokens: 472,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 20000,
      output_tokens: 189,
    },
  },
  { type: "message_stop" },
];

describe("chat → Messages: streams", () => {
  it("the recorded streams are Anthropic's grammar", () => {
    for (const events of [THINK_AND_TOOLS, REDACTED, MAX_TOKENS]) {
      assertAnthropicStream(parseAnthropicSse(sse(events)));
    }
  });

  it("thinking, text and parallel tools: the SDK's accumulated message, usage and the bill", async () => {
    const { out, end, bridge } = convert(sse(THINK_AND_TOOLS));
    expect(end.complete).toBe(true);
    const { chunks, final } = await accumulate(out);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    for (const chunk of chunks) {
      expect(chunk.model).toBe("my-claude");
      expect(chunk.id).toBe("msg_01XFDUDYJgAACzvnptvVoYEL");
      expect(chunk.object).toBe("chat.completion.chunk");
    }
    // Thinking is reasoning, never content.
    expect(reasoningOf(chunks)).toBe(
      "The user wants the weather in two cities — I'll ask for both.",
    );
    // (`parsed` is the SDK's own; it keeps only the last fragment of `reasoning_content`.)
    const { reasoning_content: _, parsed: __, ...message } = messageOf(final);
    expect(message).toEqual({
      role: "assistant",
      content: "Checking both cities… 🌦",
      refusal: null,
      thinking_blocks: [
        {
          type: "thinking",
          thinking: "The user wants the weather in two cities — I'll ask for both.",
          signature: SIGNATURE,
        },
      ],
      tool_calls: [
        {
          id: "toolu_01A09q90qw90lq917835lq9",
          type: "function",
          function: { name: "get_weather", arguments: '{"location": "Zürich \\u00e9"}' },
        },
        {
          id: "toolu_01B7x2",
          type: "function",
          function: { name: "get_weather", arguments: '{"location": "Paris", "unit": "celsius"}' },
        },
      ],
    });
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    // Tool calls are numbered among tools only (rule 5), not by content block.
    const indexes = chunks.flatMap(
      (c) => c.choices[0]?.delta.tool_calls?.map((t) => t.index) ?? [],
    );
    expect(new Set(indexes)).toEqual(new Set([0, 1]));
    // Anthropic's input excludes the cache; chat's prompt includes it (rule 7).
    expect(final.usage).toEqual({
      prompt_tokens: 472 + 20000 + 3000,
      completion_tokens: 189,
      total_tokens: 472 + 20000 + 3000 + 189,
      prompt_tokens_details: { cached_tokens: 20000, cache_write_tokens: 3000 },
    });
    // The last chunk before [DONE] is the usage chunk, with no choices.
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(out.trimEnd().endsWith("data: [DONE]")).toBe(true);
    // Billed as the Messages face bills: 5-minute and 1-hour writes apart.
    expect(bridge.metered()).toEqual({
      inputTokens: 472,
      cachedInputTokens: 20000,
      cacheWriteTokens: 1000,
      cacheWrite1hTokens: 2000,
      outputTokens: 189,
    });
  });

  it("the same stream in 1-byte and whole pieces converts to the same text", () => {
    const text = sse(THINK_AND_TOOLS);
    const strip = (s: string) => s.replace(/"created":\d+/g, "");
    const whole = strip(convert(text, CONTEXT, text.length).out);
    expect(strip(convert(text, CONTEXT, 1).out)).toBe(whole);
  });

  it("no usage chunk unless the client asked, and the bill is still read", async () => {
    const { out, bridge } = convert(sse(THINK_AND_TOOLS), { model: "my-claude" });
    const { chunks, final } = await accumulate(out);
    expect(final.usage).toBeUndefined();
    expect(chunks.every((c) => c.usage === undefined || c.usage === null)).toBe(true);
    expect(bridge.metered()?.outputTokens).toBe(189);
  });

  it("redacted_thinking is kept, in order, beside signed thinking", async () => {
    const { out } = convert(sse(REDACTED));
    const { chunks, final } = await accumulate(out);
    const message = messageOf(final);
    expect(message.thinking_blocks).toEqual([
      { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT" },
      { type: "thinking", thinking: "Fine.", signature: SIGNATURE },
    ]);
    expect(message.content).toBe("Hello!");
    expect(reasoningOf(chunks)).toBe("Fine.");
    expect(final.choices[0]?.finish_reason).toBe("stop");
  });

  it("max_tokens is finish_reason length", async () => {
    const { out } = convert(sse(MAX_TOKENS));
    const { final } = await accumulate(out);
    expect(final.choices[0]?.finish_reason).toBe("length");
    expect(final.choices[0]?.message.content).toBe("A long answ");
    expect(final.usage?.completion_tokens).toBe(5);
  });

  it("an `error` event mid-stream is OpenAI's error chunk, and the stream is incomplete", async () => {
    const events = [
      messageStart(),
      start(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "Partial" }),
      PING,
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
    ];
    assertAnthropicStream(parseAnthropicSse(sse(events)));
    const { out, end, bridge } = convert(sse(events));
    expect(end.complete).toBe(false);
    // One error chunk: the upstream's, with its type; the relay's own adds nothing.
    expect(out.match(/"error"/g)).toHaveLength(1);
    expect(bridge.broken("cut")).toBe("");
    const error = await accumulate(out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain("Overloaded");
    expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe("overloaded_error");
    expect(out).not.toContain("[DONE]");
    // No message_delta, so no count of the answer: the relay estimates the call.
    expect(bridge.metered()).toBeUndefined();
  });

  it("a stream cut after message_start is incomplete and ends in the chat face's error chunk", async () => {
    const { out, end, bridge } = convert(sse([messageStart()]));
    expect(end.complete).toBe(false);
    // message_start's output_tokens is a placeholder: never billed as the answer.
    expect(bridge.metered()).toBeUndefined();
    expect(out).not.toContain("[DONE]");
    expect(out).not.toContain('finish_reason":"');
    const error = await accumulate(out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("stream_interrupted");
  });

  it("a stream cut after message_delta, before message_stop, is incomplete", () => {
    const cut = THINK_AND_TOOLS.slice(0, -1);
    const { out, end, bridge } = convert(sse(cut));
    expect(end.complete).toBe(false);
    // message_delta's totals are final: the bill is exact though the stream did not finish.
    expect(bridge.metered()?.outputTokens).toBe(189);
    expect(out).not.toContain('"finish_reason":"tool_calls"');
  });

  it("unknown events and deltas say nothing; `event:`-less frames (Bedrock's, decoded) are read by type", async () => {
    const text = sse(THINK_AND_TOOLS)
      .replace(/event: [a-z_]+\n/g, "")
      .replace(
        'data: {"type":"ping"}\n\n',
        'data: {"type":"ping"}\n\nevent: future_event\ndata: {"type":"future_event","x":1}\n\n',
      );
    const { out } = convert(text);
    const { final } = await accumulate(out);
    expect(final.choices[0]?.message.tool_calls).toHaveLength(2);
  });
});

const REDACTED: Event[] = [
  messageStart({
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: undefined,
  }),
  start(0, { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT" }),
  stop(0),
  start(1, { type: "thinking", thinking: "", signature: "" }),
  delta(1, { type: "thinking_delta", thinking: "Fine." }),
  delta(1, { type: "signature_delta", signature: SIGNATURE }),
  stop(1),
  start(2, { type: "text", text: "" }),
  delta(2, { type: "text_delta", text: "Hello!" }),
  stop(2),
  {
    type: "message_delta",
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: { output_tokens: 12 },
  },
  { type: "message_stop" },
];

const MAX_TOKENS: Event[] = [
  messageStart(),
  start(0, { type: "text", text: "" }),
  delta(0, { type: "text_delta", text: "A long answ" }),
  stop(0),
  {
    type: "message_delta",
    delta: { stop_reason: "max_tokens", stop_sequence: null },
    usage: { output_tokens: 5 },
  },
  { type: "message_stop" },
];

describe("chat → Messages: whole answers and errors", () => {
  it("a Message is a chat.completion with thinking_blocks, tool_calls and cache-inclusive usage", () => {
    const answer = chatToMessages.answer(
      {
        id: "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        type: "message",
        role: "assistant",
        model: MODEL,
        content: [
          { type: "thinking", thinking: "Let me look.", signature: SIGNATURE },
          { type: "text", text: "I'll check " },
          { type: "text", text: "that." },
          { type: "tool_use", id: "toolu_01", name: "Bash", input: { command: "ls -la" } },
        ],
        stop_reason: "tool_use",
        stop_sequence: null,
        usage: {
          input_tokens: 10,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: 50,
          output_tokens: 30,
          output_tokens_details: { thinking_tokens: 12 },
        },
      },
      { model: "my-claude" },
    );
    expect(answer).toEqual({
      id: "msg_013Zva2CMHLNnXjNJJKqJ2EF",
      object: "chat.completion",
      created: expect.any(Number),
      model: "my-claude",
      choices: [
        {
          index: 0,
          logprobs: null,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            content: "I'll check that.",
            refusal: null,
            reasoning_content: "Let me look.",
            thinking_blocks: [{ type: "thinking", thinking: "Let me look.", signature: SIGNATURE }],
            tool_calls: [
              {
                id: "toolu_01",
                type: "function",
                function: { name: "Bash", arguments: '{"command":"ls -la"}' },
              },
            ],
          },
        },
      ],
      usage: {
        prompt_tokens: 160,
        completion_tokens: 30,
        total_tokens: 190,
        prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 50 },
        completion_tokens_details: { reasoning_tokens: 12 },
      },
    });
  });

  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["pause_turn", "stop"],
    ["max_tokens", "length"],
    ["model_context_window_exceeded", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
  ])("stop_reason %s → finish_reason %s (§6.3)", (reason, finish) => {
    const answer = chatToMessages.answer(
      { id: "m", content: [{ type: "text", text: "x" }], stop_reason: reason, usage: {} },
      { model: "m" },
    );
    expect((answer.choices as Event[])[0]?.finish_reason).toBe(finish);
  });

  it("a text-less answer has content null", () => {
    const answer = chatToMessages.answer(
      { id: "m", content: [], stop_reason: "end_turn" },
      { model: "m" },
    );
    expect(messageOf(answer).content).toBeNull();
  });

  it.each([
    [400, { type: "invalid_request_error", message: "messages.0: bad" }, "invalid_request_error"],
    [413, { type: "request_too_large", message: "too big" }, "request_too_large"],
    [404, { type: "not_found_error", message: "model: x" }, "not_found_error"],
    [400, { message: "no type" }, "invalid_request_error"],
    [403, {}, "permission_error"],
  ])(
    "an upstream %i keeps its status and Anthropic's type (§6.5)",
    (status, fields: {
      type?: string;
      message?: string;
    }, type) => {
      const error = chatToMessages.error(status, fields);
      expect(error.status).toBe(status);
      expect(error.type).toBe(type);
      expect(error.message).toEqual(fields.message ?? expect.stringContaining(String(status)));
    },
  );
});

// --- Requests ---

const convertRequest = (body: Event, options: Event = {}) =>
  chatToMessages.request(body, { model: "my-claude", options: { maxTokens: 8000, ...options } });

/** The InvalidRequest a conversion throws. */
function refusal(body: Event, options: Event = {}): InvalidRequest {
  try {
    convertRequest(body, options);
  } catch (error) {
    if (error instanceof InvalidRequest) return error;
    throw error;
  }
  throw new Error("the request was converted");
}

const user = (content: unknown) => ({ role: "user", content });
/** A Messages turn's content: text blocks. */
const blocks = (...texts: string[]) => texts.map((text) => ({ type: "text", text }));
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

describe("chat → Messages: requests (§6.4)", () => {
  it("a plain call: max_tokens always set, model kept, unknown fields left out", () => {
    expect(
      convertRequest({
        model: "my-claude",
        messages: [user("Hi")],
        frequency_penalty: 0.5,
        logit_bias: { 1: 2 },
        seed: 7,
        store: true,
        stream_options: { include_usage: true },
      }),
    ).toEqual({ model: "my-claude", max_tokens: 8000, messages: [user(blocks("Hi"))] });
  });

  it.each([
    [{}, 8000, 8000],
    [{ max_tokens: 100 }, 8000, 100],
    [{ max_tokens: 100, max_completion_tokens: 200 }, 8000, 200],
    [{ max_completion_tokens: 99_999 }, 8000, 8000],
    [{}, undefined, 4096],
    [{ max_tokens: 300 }, undefined, 300],
  ])("max_tokens from %j with the relay's bound %s → %i", (fields, held, expected) => {
    const out = chatToMessages.request(
      { model: "m", messages: [user("Hi")], ...fields },
      { model: "m", options: { maxTokens: held } },
    );
    expect(out.max_tokens).toBe(expected);
  });

  it("system and developer messages before the conversation are the top-level system", () => {
    const out = convertRequest({
      messages: [
        { role: "system", content: "You are terse." },
        {
          role: "developer",
          content: [
            { type: "text", text: "Use metric units." },
            { type: "text", text: " " },
          ],
        },
        user("Hi"),
      ],
    });
    expect(out.system).toEqual([
      { type: "text", text: "You are terse." },
      { type: "text", text: "Use metric units." },
    ]);
    expect(out.messages).toEqual([user(blocks("Hi"))]);
  });

  it("a system message mid-conversation is folded into the next user turn as a system-reminder", () => {
    const out = convertRequest({
      messages: [
        user("Hi"),
        { role: "assistant", content: "Hello." },
        { role: "system", content: "Answer in French from now on." },
        user("How are you?"),
        { role: "assistant", content: "Bien." },
        { role: "developer", content: "Be brief." },
      ],
    });
    expect(out.system).toBeUndefined();
    expect(out.messages).toEqual([
      user(blocks("Hi")),
      { role: "assistant", content: [{ type: "text", text: "Hello." }] },
      user([
        {
          type: "text",
          text: "<system-reminder>\nAnswer in French from now on.\n</system-reminder>",
        },
        { type: "text", text: "How are you?" },
      ]),
      { role: "assistant", content: [{ type: "text", text: "Bien." }] },
      user([{ type: "text", text: "<system-reminder>\nBe brief.\n</system-reminder>" }]),
    ]);
  });

  it("systemTurns: keep leaves it a system turn in place", () => {
    const out = convertRequest(
      { messages: [user("Hi"), { role: "system", content: "Shh." }, user("Again")] },
      { systemTurns: "keep" },
    );
    expect(out.messages).toEqual([
      user(blocks("Hi")),
      { role: "system", content: [{ type: "text", text: "Shh." }] },
      user(blocks("Again")),
    ]);
  });

  it("user parts: text, data-URI images (image/jpg → image/jpeg, parameters stripped), URL images, PDFs", () => {
    const out = convertRequest({
      messages: [
        user([
          { type: "text", text: "What is this?" },
          { type: "text", text: "" },
          { type: "image_url", image_url: { url: `data:image/jpg;base64,${PNG}`, detail: "high" } },
          { type: "image_url", image_url: { url: `data:IMAGE/PNG;charset=binary;base64,${PNG}` } },
          { type: "image_url", image_url: { url: "https://example.com/cat.webp" } },
          {
            type: "file",
            file: { filename: "spec.pdf", file_data: "data:application/pdf;base64,JVBERi0x" },
          },
        ]),
      ],
    });
    expect(out.messages).toEqual([
      user([
        { type: "text", text: "What is this?" },
        { type: "image", source: { type: "base64", media_type: "image/jpeg", data: PNG } },
        { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.webp" } },
        {
          type: "document",
          source: { type: "base64", media_type: "application/pdf", data: "JVBERi0x" },
          title: "spec.pdf",
        },
      ]),
    ]);
  });

  it.each([
    [
      "a URL image on bedrock",
      [{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }],
      { channel: "bedrock" },
      "messages[0].content[0].image_url.url",
    ],
    [
      "a data URI that is not base64",
      [{ type: "image_url", image_url: { url: "data:image/svg+xml,<svg/>" } }],
      {},
      "messages[0].content[0].image_url.url",
    ],
    [
      "a file: URL",
      [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }],
      {},
      "messages[0].content[0].image_url.url",
    ],
    [
      "a file that is not a PDF",
      [{ type: "file", file: { file_data: "data:text/plain;base64,aGk=" } }],
      {},
      "messages[0].content[0]",
    ],
    [
      "a file by id",
      [{ type: "file", file: { file_id: "file-abc" } }],
      {},
      "messages[0].content[0]",
    ],
    [
      "audio",
      [{ type: "input_audio", input_audio: { data: "", format: "wav" } }],
      {},
      "messages[0].content[0]",
    ],
  ])("%s is a 400 naming the part", (_, content, options, param) => {
    const error = refusal({ messages: [user(content)] }, options);
    expect(error.param).toBe(param);
    expect(error.message).toContain(param);
  });

  it("a URL image is fine on anthropic and refused on bedrock, where base64 still goes", () => {
    const content = [{ type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } }];
    const out = convertRequest({ messages: [user(content)] }, { channel: "bedrock" });
    expect(out.messages).toEqual([
      user([{ type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }]),
    ]);
  });

  it("assistant turns: thinking_blocks first, then non-empty text, then tool_use; sluice's signatures dropped", () => {
    const out = convertRequest({
      messages: [
        user("Weather?"),
        {
          role: "assistant",
          content: "",
          thinking_blocks: [
            {
              type: "thinking",
              thinking: "Minted by sluice.",
              signature: "sluice1.abcdefghijklmnopqrstuv",
            },
            { type: "thinking", thinking: "Use the tool.", signature: SIGNATURE },
            { type: "redacted_thinking", data: "EmwKAhgB" },
            { type: "thinking", thinking: "Unsigned." },
          ],
          tool_calls: [
            {
              id: "toolu_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"location":"Oslo"}' },
            },
            { id: "toolu_2", type: "function", function: { name: "now", arguments: "" } },
            {
              id: "toolu_3",
              type: "function",
              function: { name: "get_weather", arguments: { location: "Rome" } },
            },
          ],
        },
        { role: "tool", tool_call_id: "toolu_1", content: "-3°C" },
        { role: "tool", tool_call_id: "toolu_2", content: [{ type: "text", text: "12:00" }] },
        { role: "tool", tool_call_id: "toolu_3", content: "" },
        user("And tomorrow?"),
      ],
    });
    expect(out.messages).toEqual([
      user(blocks("Weather?")),
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "Use the tool.", signature: SIGNATURE },
          { type: "redacted_thinking", data: "EmwKAhgB" },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { location: "Oslo" } },
          { type: "tool_use", id: "toolu_2", name: "now", input: {} },
          { type: "tool_use", id: "toolu_3", name: "get_weather", input: { location: "Rome" } },
        ],
      },
      // Consecutive tool messages and the user text after them: one user turn, results first.
      user([
        { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "-3°C" }] },
        { type: "tool_result", tool_use_id: "toolu_2", content: [{ type: "text", text: "12:00" }] },
        { type: "tool_result", tool_use_id: "toolu_3" },
        { type: "text", text: "And tomorrow?" },
      ]),
    ]);
  });

  it("an assistant turn with text keeps it after its thinking; an empty one becomes (empty)", () => {
    const out = convertRequest({
      messages: [
        user("a"),
        {
          role: "assistant",
          content: [
            { type: "text", text: "b" },
            { type: "refusal", refusal: "no" },
          ],
        },
        user("c"),
        { role: "assistant", content: "   " },
        user("d"),
      ],
    });
    expect((out.messages as Event[])[1]).toEqual({
      role: "assistant",
      content: [
        { type: "text", text: "b" },
        { type: "text", text: "no" },
      ],
    });
    expect((out.messages as Event[])[3]).toEqual({
      role: "assistant",
      content: [{ type: "text", text: "(empty)" }],
    });
  });

  it.each([["{not json"], ["[1,2]"], ["42"]])(
    "arguments %j are a 400 naming them (rule 28)",
    (args) => {
      const error = refusal({
        messages: [
          user("x"),
          {
            role: "assistant",
            tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: args } }],
          },
        ],
      });
      expect(error.param).toBe("messages[1].tool_calls[0].function.arguments");
    },
  );

  it.each([
    ["low", 2048],
    ["medium", 8192],
    ["high", 24576],
    ["minimal", 1024],
  ])(
    "reasoning_effort %s → enabled thinking with budget %i (clamped below max_tokens); sampling dropped",
    (effort, budget) => {
      const out = convertRequest(
        { messages: [user("x")], reasoning_effort: effort, temperature: 0.3, top_p: 0.9 },
        { maxTokens: 64_000 },
      );
      expect(out.thinking).toEqual({ type: "enabled", budget_tokens: budget });
      expect(out.temperature).toBeUndefined();
      expect(out.top_p).toBeUndefined();
      const clamped = convertRequest(
        { messages: [user("x")], reasoning_effort: effort },
        { maxTokens: 2000 },
      );
      expect(clamped.thinking).toEqual({ type: "enabled", budget_tokens: Math.min(budget, 1999) });
    },
  );

  it("no room for the minimum budget: no thinking, and sampling kept", () => {
    const out = convertRequest({
      messages: [user("x")],
      reasoning_effort: "high",
      max_tokens: 1024,
      temperature: 0.2,
    });
    expect(out.thinking).toBeUndefined();
    expect(out.temperature).toBe(0.2);
  });

  it("adaptive models: thinking adaptive and output_config.effort", () => {
    const out = convertRequest(
      { messages: [user("x")], reasoning_effort: "medium", temperature: 1 },
      { adaptiveThinking: true },
    );
    expect(out.thinking).toEqual({ type: "adaptive" });
    expect(out.output_config).toEqual({ effort: "medium" });
    expect(out.temperature).toBeUndefined();
  });

  it.each([
    ["claude-opus-4-6", true],
    ["claude-sonnet-4-6-20260217", true],
    ["claude-sonnet-5", true],
    ["us.anthropic.claude-opus-4-7-v1", true],
    ["claude-opus-4-6@20260205", true],
    ["claude-sonnet-4-5", false],
    ["claude-sonnet-4-5-20250929", false],
    ["claude-opus-4-20250514", false],
    ["anthropic.claude-haiku-4-5-20251001-v1:0", false],
    ["claude-3-7-sonnet-latest", false],
    ["claude-chat-12345678", false],
    ["gpt-5", false],
  ])("adaptive thinking by name: %s → %s", (model, adaptive) => {
    expect(takesAdaptiveThinking(model)).toBe(adaptive);
    const out = chatToMessages.request(
      { messages: [user("x")], reasoning_effort: "high" },
      { model: "alias", options: { maxTokens: 32_000, upstreamModel: model } },
    );
    expect(out.thinking).toEqual(
      adaptive ? { type: "adaptive" } : { type: "enabled", budget_tokens: 24576 },
    );
    // The option, when given, is the channel's word over the name.
    const told = chatToMessages.request(
      { messages: [user("x")], reasoning_effort: "high" },
      { model, options: { maxTokens: 32_000, adaptiveThinking: !adaptive } },
    );
    expect(told.thinking).toEqual(
      adaptive ? { type: "enabled", budget_tokens: 24576 } : { type: "adaptive" },
    );
  });

  it("reasoning_effort none: no thinking; an unknown effort: 400", () => {
    expect(
      convertRequest({ messages: [user("x")], reasoning_effort: "none" }).thinking,
    ).toBeUndefined();
    for (const effort of ["maximum", "toString", "constructor"])
      expect(refusal({ messages: [user("x")], reasoning_effort: effort }).param).toBe(
        "reasoning_effort",
      );
  });

  it("enabled thinking without the thinking block of the turn before trailing tool results: sent without thinking", () => {
    const body = {
      messages: [
        user("x"),
        {
          role: "assistant",
          tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "t1", content: "ok" },
      ],
      reasoning_effort: "low",
    };
    expect(convertRequest(body).thinking).toBeUndefined();
    expect(convertRequest(body, { adaptiveThinking: true }).thinking).toEqual({ type: "adaptive" });
    const kept = structuredClone(body);
    (kept.messages[1] as Event).thinking_blocks = [
      { type: "thinking", thinking: "t", signature: SIGNATURE },
    ];
    expect(convertRequest(kept).thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
  });

  it("sampling: temperature clamped to Claude's range, top_p yields to temperature, sampling:false drops all", () => {
    expect(convertRequest({ messages: [user("x")], temperature: 1.6, top_p: 0.5 })).toMatchObject({
      temperature: 1,
    });
    expect(
      convertRequest({ messages: [user("x")], temperature: 1.6, top_p: 0.5 }).top_p,
    ).toBeUndefined();
    expect(convertRequest({ messages: [user("x")], top_p: 0.5 }).top_p).toBe(0.5);
    const out = convertRequest(
      { messages: [user("x")], temperature: 0.5, top_p: 0.5, top_k: 5 },
      { sampling: false },
    );
    expect(out).not.toHaveProperty("temperature");
    expect(out).not.toHaveProperty("top_p");
    expect(out).not.toHaveProperty("top_k");
  });

  it("response_format json_schema → output_config.format on anthropic, 400 on bedrock; json_object → nothing", () => {
    const schema = {
      type: "object",
      properties: { a: { type: "string" } },
      required: ["a"],
      additionalProperties: false,
    };
    const body = {
      messages: [user("x")],
      response_format: { type: "json_schema", json_schema: { name: "r", schema, strict: true } },
    };
    expect(convertRequest(body).output_config).toEqual({ format: { type: "json_schema", schema } });
    expect(refusal(body, { channel: "bedrock" }).param).toBe("response_format");
    expect(
      convertRequest({ messages: [user("x")], response_format: { type: "json_object" } }),
    ).not.toHaveProperty("output_config");
  });

  it("n > 1 is a 400; user → metadata.user_id; stop → stop_sequences; stream kept", () => {
    expect(refusal({ messages: [user("x")], n: 2 }).param).toBe("n");
    const out = convertRequest({
      messages: [user("x")],
      n: 1,
      user: "u-42",
      stop: "END",
      stream: true,
    });
    expect(out).toMatchObject({
      metadata: { user_id: "u-42" },
      stop_sequences: ["END"],
      stream: true,
    });
    expect(convertRequest({ messages: [user("x")], stop: ["a", "", "b"] }).stop_sequences).toEqual([
      "a",
      "b",
    ]);
  });

  it("tools and tool_choice, parallel_tool_calls false → disable_parallel_tool_use", () => {
    const tools = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather.",
          parameters: { type: "object", properties: { location: { type: "string" } } },
        },
      },
      { type: "function", function: { name: "now" } },
    ];
    const out = convertRequest({ messages: [user("x")], tools });
    expect(out.tools).toEqual([
      {
        name: "get_weather",
        description: "Weather.",
        input_schema: { type: "object", properties: { location: { type: "string" } } },
      },
      { name: "now", input_schema: { type: "object", properties: {} } },
    ]);
    expect(out.tool_choice).toBeUndefined();
    const choice = (tool_choice: unknown, parallel?: boolean) =>
      convertRequest({ messages: [user("x")], tools, tool_choice, parallel_tool_calls: parallel })
        .tool_choice;
    expect(choice("auto")).toEqual({ type: "auto" });
    expect(choice("required")).toEqual({ type: "any" });
    expect(choice("none")).toEqual({ type: "none" });
    expect(choice({ type: "function", function: { name: "now" } })).toEqual({
      type: "tool",
      name: "now",
    });
    expect(choice(undefined, false)).toEqual({ type: "auto", disable_parallel_tool_use: true });
    expect(choice("required", false)).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(
      refusal({ messages: [user("x")], tools: [{ type: "custom", custom: { name: "x" } }] }).param,
    ).toBe("tools[0]");
  });

  it("Kimi-style tool ids become ids Anthropic accepts, the same on the call and its result", () => {
    const ids = ["functions.Bash:0", "functions.Bash:1", "call_ok-1"];
    const out = convertRequest({
      messages: [
        { role: "user", content: "Run both." },
        {
          role: "assistant",
          content: null,
          tool_calls: ids.map((id) => ({
            id,
            type: "function",
            function: { name: "Bash", arguments: "{}" },
          })),
        },
        ...ids.map((id) => ({ role: "tool", tool_call_id: id, content: "ok" })),
      ],
    });
    const [, assistant, results] = out.messages as Event[];
    const used = ((assistant?.content ?? []) as Event[]).map((b) => b.id as string);
    const answered = ((results?.content ?? []) as Event[]).map((b) => b.tool_use_id as string);
    expect(answered).toEqual(used);
    for (const id of used) expect(id).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(new Set(used).size).toBe(3);
    expect(used[2]).toBe("call_ok-1");
  });

  it("roles it cannot place and missing ids are 400s naming them", () => {
    expect(refusal({ messages: [{ role: "function", name: "f", content: "x" }] }).param).toBe(
      "messages[0].role",
    );
    expect(refusal({ messages: [{ role: "tool", content: "x" }] }).param).toBe(
      "messages[0].tool_call_id",
    );
    expect(refusal({ messages: "hi" }).param).toBe("messages");
  });
});

// --- Against the Anthropic fixture ---

describe("chat → Messages: converted requests pass the Anthropic fixture's validation", () => {
  const KEY = "sk-ant-bridge-test";
  let upstream: DemoUpstream;
  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: KEY });
  });
  afterAll(() => upstream.close());

  /** A converted request as the channel's adapter sends it: with the bridge's headers. */
  async function send(body: Event, headers = chatToMessages.headers): Promise<Response> {
    return fetch(`${upstream.origin}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": KEY, ...headers },
      body: JSON.stringify({ ...body, model: MODEL }),
    });
  }

  const BASH = {
    type: "function",
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

  it("a two-turn tool conversation with thinking: the signature round-trips and passes the HMAC check", async () => {
    const context: BridgeContext = {
      model: "my-claude",
      options: { maxTokens: 4096, includeUsage: true },
    };
    const messages: Event[] = [
      { role: "system", content: "You run commands." },
      user("THINK, then USE_BASH to greet."),
    ];
    const first = {
      model: "my-claude",
      messages,
      tools: [BASH],
      reasoning_effort: "low",
      temperature: 0.7,
      stream: true,
    };
    const response = await send(chatToMessages.request(first, context));
    expect(response.status, await response.clone().text()).toBe(200);
    const { out, end } = convert(await response.text(), context, 11);
    expect(end.complete).toBe(true);
    const { final } = await accumulate(out);
    const turn = messageOf(final);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect((turn.thinking_blocks as Event[])[0]).toMatchObject({
      type: "thinking",
      signature: expect.any(String),
    });
    const call = (turn.tool_calls as { id: string; function: { arguments: string } }[])[0];
    expect(JSON.parse(call?.function.arguments ?? "")).toEqual({
      command: "echo hello-from-tool",
      description: "Echo a greeting",
    });
    expect(final.usage?.prompt_tokens).toBeGreaterThan(0);

    // The client sends the turn back as the SDK gave it, with the tool's result.
    const { reasoning_content: _, refusal: __, ...assistant } = turn;
    const second = {
      model: "my-claude",
      messages: [
        ...messages,
        assistant,
        { role: "tool", tool_call_id: call?.id, content: "hello-from-tool" },
      ],
      tools: [BASH],
      reasoning_effort: "low",
    };
    const converted = chatToMessages.request(second, context);
    // Thinking stays on: the turn before the tool result starts with its signed block.
    expect(converted.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    const again = await send(converted);
    expect(again.status, await again.clone().text()).toBe(200);
    const answer = chatToMessages.answer((await again.json()) as Event, context);
    const message = messageOf(answer);
    expect(message.content).toBe("tool done: hello-from-tool");

    // The fixture's check is live: a forged signature is Anthropic's 400.
    const forged = structuredClone(converted);
    const [, forgedTurn] = forged.messages as { content: Event[] }[];
    const thinking = forgedTurn?.content[0] ?? {};
    expect(thinking.type).toBe("thinking");
    const signature = String(thinking.signature);
    thinking.signature = `${signature.slice(0, 40)}${signature[40] === "A" ? "B" : "A"}${signature.slice(41)}`;
    const refused = await send(forged);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("signature");
  });

  it("parallel tools streamed with random splits arrive whole, each its own tool call", async () => {
    const context: BridgeContext = { model: "my-claude", options: { maxTokens: 2048 } };
    const body = {
      messages: [user("PARALLEL please")],
      tools: [BASH],
      stream: true,
      parallel_tool_calls: true,
    };
    const response = await send(chatToMessages.request(body, context));
    expect(response.status).toBe(200);
    const { out } = convert(await response.text(), context, 5);
    const { final } = await accumulate(out);
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(
      calls.map((c) => c.type === "function" && JSON.parse(c.function.arguments).command),
    ).toEqual(["echo one", "echo 'twó 😀'"]);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
  });

  it("images, system turns folded and sampling without thinking are accepted as converted", async () => {
    const context: BridgeContext = { model: "my-claude", options: { maxTokens: 512 } };
    const body = {
      messages: [
        { role: "developer", content: "Be brief." },
        user([
          { type: "text", text: "Look" },
          { type: "image_url", image_url: { url: `data:image/jpg;base64,${PNG}` } },
        ]),
        { role: "assistant", content: "" },
        { role: "system", content: "Now in French." },
        user("Again"),
      ],
      temperature: 0.4,
      top_p: 0.9,
      stop: ["\n\nHuman:"],
      user: "user-1",
    };
    const response = await send(chatToMessages.request(body, context));
    expect(response.status, await response.clone().text()).toBe(200);
    const answer = chatToMessages.answer((await response.json()) as Event, context);
    expect(messageOf(answer).content).toContain("Again");
    // Why the bridge pins its version: the later one refuses the sampling chat clients send.
    expect(chatToMessages.headers).toEqual({ "anthropic-version": BRIDGED_ANTHROPIC_VERSION });
    const later = await send(chatToMessages.request(body, context), {
      "anthropic-version": "2026-10-21",
    });
    expect(later.status).toBe(400);
    expect(await later.text()).toContain("temperature");
  });
});

// --- Malformed input ---

/** Every copy of `value` with one node (at any depth) replaced by one of `odd`. */
function* mutations(value: unknown, odd: unknown[]): Generator<unknown> {
  for (const replacement of odd) yield replacement;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      for (const changed of mutations(item, odd)) {
        const copy = [...value];
        copy[i] = changed;
        yield copy;
      }
    }
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      for (const changed of mutations(item, odd)) yield { ...value, [key]: changed };
    }
  }
}

const ODD = [null, 0, -1, 1.5, "", "x", true, [], {}, [null], [1], { type: "x" }];

describe("chat → Messages: malformed input never crashes", () => {
  it("every one-node corruption of a rich request converts or is an InvalidRequest", () => {
    const rich = {
      model: "m",
      messages: [
        { role: "system", content: [{ type: "text", text: "s" }] },
        user([
          { type: "text", text: "hi" },
          { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
          {
            type: "file",
            file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JV" },
          },
        ]),
        {
          role: "assistant",
          content: "ok",
          thinking_blocks: [{ type: "thinking", thinking: "t", signature: SIGNATURE }],
          tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "t1", content: [{ type: "text", text: "r" }] },
      ],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      tool_choice: { type: "function", function: { name: "f" } },
      reasoning_effort: "low",
      response_format: { type: "json_schema", json_schema: { name: "r", schema: {} } },
      stop: ["a"],
      max_tokens: 100,
      thinking: { type: "enabled", budget_tokens: 2000 },
    };
    let converted = 0;
    let refused = 0;
    for (const body of mutations(rich, ODD)) {
      // The face hands over a JSON object (readJsonObject): only its insides can be anything.
      if (body === null || typeof body !== "object" || Array.isArray(body)) continue;
      for (const options of [{}, { channel: "bedrock", adaptiveThinking: true }]) {
        try {
          const out = chatToMessages.request(body as Event, { model: "m", options });
          expect(Array.isArray(out.messages)).toBe(true);
          converted++;
        } catch (error) {
          if (!(error instanceof InvalidRequest)) throw error;
          expect(error.param).toEqual(expect.any(String));
          refused++;
        }
      }
    }
    // Both outcomes happen: the corruptions are not all harmless, nor all refused.
    expect(converted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it("every one-node corruption of a stream's events or of a whole answer is converted without throwing", () => {
    for (const [i, event] of THINK_AND_TOOLS.entries()) {
      for (const changed of mutations(event, ODD)) {
        const events = [...THINK_AND_TOOLS];
        events[i] = changed as Event;
        const bridge = chatToMessages.stream(CONTEXT);
        const parser = new SseParser();
        const text = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("");
        bridge.push(parser.push(new TextEncoder().encode(`${text}data: not json\n\n`)));
        bridge.end();
        bridge.metered();
      }
    }
    const answer = {
      id: "m",
      content: [
        { type: "thinking", thinking: "t", signature: "s" },
        { type: "redacted_thinking", data: "d" },
        { type: "text", text: "x" },
        { type: "tool_use", id: "t", name: "n", input: { a: 1 } },
      ],
      stop_reason: "tool_use",
      usage: {
        input_tokens: 1,
        output_tokens: 2,
        cache_creation: { ephemeral_1h_input_tokens: 0 },
      },
    };
    for (const changed of mutations(answer, ODD)) {
      if (changed === null || typeof changed !== "object" || Array.isArray(changed)) continue;
      const out = chatToMessages.answer(changed as Event, { model: "m" });
      expect(out.object).toBe("chat.completion");
    }
  });
});

/*
 * The pitfalls in this direction that had no recorded test of their own: tool input
 * split anywhere (rule 4), and cache breakpoints with their ttl reaching Claude from every kind
 * of part a chat client may mark (rule 9, which in this direction means: kept, never dropped).
 */
describe("chat → Messages: recorded pitfalls", () => {
  /** A tool call's input as Claude Code's Edit tool sends it: multi-byte text, \u escapes. */
  const INPUT = '{"path":"src/é.ts","old":"naïve \\u00e9 — 🌦","new":"\\ud83d\\ude00 \\"ok\\""}';

  /** The first tool call's arguments in a completion the SDK accumulated. */
  const argumentsOf = (final: ChatCompletion): string => {
    const call = final.choices[0]?.message.tool_calls?.[0];
    return call?.type === "function" ? call.function.arguments : "";
  };

  /** One tool_use block whose input comes in the given fragments, then the finish. */
  function toolStream(fragments: string[]): Event[] {
    return [
      messageStart(),
      start(0, { type: "tool_use", id: "toolu_01Edit", name: "Edit", input: {} }),
      ...fragments.map((partial_json) => delta(0, { type: "input_json_delta", partial_json })),
      stop(0),
      {
        type: "message_delta",
        delta: { stop_reason: "tool_use", stop_sequence: null },
        usage: { output_tokens: 40 },
      },
      { type: "message_stop" },
    ];
  }

  it("input_json_delta split at every position (inside multi-byte characters and \\u escapes) reaches the client whole", async () => {
    // Claude splits at UTF-16 positions; every one, including between a surrogate pair's halves.
    for (let at = 0; at <= INPUT.length; at++) {
      const fragments = [INPUT.slice(0, at), INPUT.slice(at)];
      const events = toolStream(fragments);
      assertAnthropicStream(parseAnthropicSse(sse(events)));
      const { out, end } = convert(sse(events), CONTEXT, 5);
      expect(end.complete).toBe(true);
      const { chunks, final } = await accumulate(out);
      const args = argumentsOf(final);
      expect(args, `split at ${at}`).toBe(INPUT);
      expect(JSON.parse(args)).toEqual(JSON.parse(INPUT));
      // Every call's fragments are on tool index 0, and each of Claude's became one chunk.
      const argChunks = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      expect(argChunks.every((t) => t.index === 0)).toBe(true);
      expect(argChunks.filter((t) => t.function?.arguments).length).toBe(
        fragments.filter((f) => f !== "").length,
      );
    }
  });

  it("input_json_delta one character at a time, as Claude streams a long input, arrives whole", async () => {
    const fragments = [...INPUT];
    const { out } = convert(sse(toolStream(fragments)), CONTEXT, 64);
    const { final } = await accumulate(out);
    expect(argumentsOf(final)).toBe(INPUT);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("cache_control with ttl on system, text, image, PDF and tool parts reaches Claude exactly as the client marked it", () => {
    const hour = { type: "ephemeral", ttl: "1h" };
    const fiveMinutes = { type: "ephemeral", ttl: "5m" };
    const out = convertRequest({
      messages: [
        {
          role: "system",
          content: [{ type: "text", text: "You are terse.", cache_control: hour }],
        },
        user([
          { type: "text", text: "Read these.", cache_control: fiveMinutes },
          {
            type: "image_url",
            image_url: { url: `data:image/png;base64,${PNG}` },
            cache_control: hour,
          },
          {
            type: "file",
            file: { filename: "spec.pdf", file_data: "data:application/pdf;base64,JVBERi0x" },
            cache_control: { type: "ephemeral" },
          },
        ]),
      ],
      tools: [
        {
          type: "function",
          function: { name: "Bash", parameters: { type: "object", properties: {} } },
          cache_control: hour,
        },
      ],
    });
    expect(out.system).toEqual([{ type: "text", text: "You are terse.", cache_control: hour }]);
    const content = (out.messages as Event[])[0]?.content as Event[];
    expect(content.map((b) => [b.type, b.cache_control])).toEqual([
      ["text", fiveMinutes],
      ["image", hour],
      ["document", { type: "ephemeral" }],
    ]);
    expect((out.tools as Event[])[0]?.cache_control).toEqual(hour);
  });
});
