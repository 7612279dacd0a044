import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../../infra/local/demo-upstream";
import { InvalidRequest, UpstreamRejected } from "../../../shared/errors";
import { renderEn } from "../../../shared/messages/render";
import { adapterFor } from "../../../shared/relay/adapters/index";
import { readOpenAiError } from "../../../shared/relay/adapters/openai/errors";
import type { BridgeContext } from "../../../shared/relay/bridges/bridge";
import { chatToResponses } from "../../../shared/relay/bridges/chat-to-responses/index";
import { bridgeFor } from "../../../shared/relay/bridges/index";
import { chatServedBy, responsesOnlyConfigProblem } from "../../../shared/relay/chat-serving";
import type { ChannelRecord } from "../../../shared/store/channels";
import { accumulateChat, runThrough } from "./stream-harness";

/**
 * The chat → Responses bridge: chat clients on a model served only on OpenAI's Responses API.
 * Streams are OpenAI's documented events (named, numbered), cut into network chunks at odd
 * places, converted, and read back by the official openai SDK's own stream accumulator, as a
 * client would read them; and the demo upstream's own Responses stream, end to end.
 */

const CONTEXT: BridgeContext = { model: "my-pro", options: { includeUsage: true } };

type Event = Record<string, unknown>;

/** OpenAI's SSE text for these events: `event:` repeats the type, `sequence_number` counts. */
function sse(events: Event[]): string {
  return events
    .map(
      (e, sequence_number) =>
        `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number })}\n\n`,
    )
    .join("");
}

function convert(text: string, context = CONTEXT, piece = 7) {
  const bridge = chatToResponses.stream(context);
  return { ...runThrough(bridge, text, piece), bridge };
}

/** The chat SSE text as the openai SDK reads it: its chunks, and its accumulated completion. */
const accumulate = (text: string) => accumulateChat(text, "my-pro");

/** A completion's function calls, as plain objects (the SDK's type also has custom calls). */
function callsOf(
  completion: ChatCompletion,
): { id: string; function: { name: string; arguments: string } }[] {
  return (completion.choices[0]?.message.tool_calls ?? []) as never;
}

function reasoningOf(chunks: ChatCompletionChunk[]): string {
  return chunks
    .map(
      (c) =>
        (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ??
        "",
    )
    .join("");
}

const USAGE = {
  input_tokens: 5200,
  input_tokens_details: { cached_tokens: 4096 },
  output_tokens: 900,
  output_tokens_details: { reasoning_tokens: 640 },
  total_tokens: 6100,
};

const RESPONSE = {
  id: "resp_68af4030592c81938ec0a5fbab4a3e9f",
  object: "response",
  created_at: 1756315696,
  model: "gpt-5-pro-2025-10-06",
  status: "in_progress",
  output: [],
  usage: null,
};

const call = (id: string, name: string, args: string) => ({
  id,
  type: "function_call",
  status: "completed",
  arguments: args,
  call_id: `call_${id}`,
  name,
});

/**
 * Reasoning with two summary parts, text, then two function calls at once whose argument
 * deltas interleave (as OpenAI streams parallel calls), then response.completed.
 */
const PARALLEL: Event[] = [
  { type: "response.created", response: RESPONSE },
  { type: "response.in_progress", response: RESPONSE },
  {
    type: "response.output_item.added",
    output_index: 0,
    item: { id: "rs_1", type: "reasoning", summary: [] },
  },
  {
    type: "response.reasoning_summary_part.added",
    item_id: "rs_1",
    output_index: 0,
    summary_index: 0,
    part: { type: "summary_text", text: "" },
  },
  {
    type: "response.reasoning_summary_text.delta",
    item_id: "rs_1",
    output_index: 0,
    summary_index: 0,
    delta: "**Two cities** — ",
  },
  {
    type: "response.reasoning_summary_text.delta",
    item_id: "rs_1",
    output_index: 0,
    summary_index: 0,
    delta: "ask for both.",
  },
  {
    type: "response.reasoning_summary_part.added",
    item_id: "rs_1",
    output_index: 0,
    summary_index: 1,
    part: { type: "summary_text", text: "" },
  },
  {
    type: "response.reasoning_summary_text.delta",
    item_id: "rs_1",
    output_index: 0,
    summary_index: 1,
    delta: "At once.",
  },
  {
    type: "response.output_item.done",
    output_index: 0,
    item: { id: "rs_1", type: "reasoning", summary: [] },
  },
  {
    type: "response.output_item.added",
    output_index: 1,
    item: { id: "msg_1", type: "message", status: "in_progress", role: "assistant", content: [] },
  },
  {
    type: "response.content_part.added",
    item_id: "msg_1",
    output_index: 1,
    content_index: 0,
    part: { type: "output_text", text: "", annotations: [] },
  },
  {
    type: "response.output_text.delta",
    item_id: "msg_1",
    output_index: 1,
    content_index: 0,
    delta: "Checking both ",
  },
  {
    type: "response.output_text.delta",
    item_id: "msg_1",
    output_index: 1,
    content_index: 0,
    delta: "cities… 🌦",
  },
  {
    type: "response.output_item.added",
    output_index: 2,
    item: { ...call("fc_a", "get_weather", ""), status: "in_progress" },
  },
  {
    type: "response.output_item.added",
    output_index: 3,
    item: { ...call("fc_b", "get_weather", ""), status: "in_progress" },
  },
  {
    type: "response.function_call_arguments.delta",
    item_id: "fc_a",
    output_index: 2,
    delta: '{"city":',
  },
  {
    type: "response.function_call_arguments.delta",
    item_id: "fc_b",
    output_index: 3,
    delta: '{"city":"Os',
  },
  {
    type: "response.function_call_arguments.delta",
    item_id: "fc_a",
    output_index: 2,
    delta: '"Paris"}',
  },
  {
    type: "response.function_call_arguments.delta",
    item_id: "fc_b",
    output_index: 3,
    delta: 'lo"}',
  },
  {
    type: "response.function_call_arguments.done",
    item_id: "fc_a",
    output_index: 2,
    arguments: '{"city":"Paris"}',
  },
  {
    type: "response.output_item.done",
    output_index: 2,
    item: call("fc_a", "get_weather", '{"city":"Paris"}'),
  },
  {
    type: "response.function_call_arguments.done",
    item_id: "fc_b",
    output_index: 3,
    arguments: '{"city":"Oslo"}',
  },
  {
    type: "response.output_item.done",
    output_index: 3,
    item: call("fc_b", "get_weather", '{"city":"Oslo"}'),
  },
  {
    type: "response.completed",
    response: { ...RESPONSE, status: "completed", usage: USAGE },
  },
];

describe("chat → Responses: the request", () => {
  const convertRequest = (body: Event, context: BridgeContext = CONTEXT) =>
    chatToResponses.request({ model: "gpt-5-pro", ...body }, context);

  it("keeps every message in order as an input item, tool calls and results matched by call id", () => {
    const out = convertRequest({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Use metric units." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "Weather here?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } },
          ],
        },
        {
          role: "assistant",
          content: "Checking.",
          reasoning_content: "display text only",
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            },
            {
              id: "call_2",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "18 °C" },
        {
          role: "tool",
          tool_call_id: "call_2",
          content: [
            { type: "text", text: "4 " },
            { type: "text", text: "°C" },
          ],
        },
      ],
    });
    expect(out.input).toEqual([
      { type: "message", role: "system", content: [{ type: "input_text", text: "Be brief." }] },
      {
        type: "message",
        role: "developer",
        content: [{ type: "input_text", text: "Use metric units." }],
      },
      {
        type: "message",
        role: "user",
        content: [
          { type: "input_text", text: "Weather here?" },
          { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "low" },
        ],
      },
      {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "Checking.", annotations: [] }],
      },
      {
        type: "function_call",
        call_id: "call_1",
        name: "get_weather",
        arguments: '{"city":"Paris"}',
      },
      {
        type: "function_call",
        call_id: "call_2",
        name: "get_weather",
        arguments: '{"city":"Oslo"}',
      },
      // A string, never a list of parts (LiteLLM #18226).
      { type: "function_call_output", call_id: "call_1", output: "18 °C" },
      { type: "function_call_output", call_id: "call_2", output: "4 °C" },
    ]);
    expect(out.store).toBe(false);
    expect(out).not.toHaveProperty("instructions");
  });

  it("carries tools, tool_choice, parallel_tool_calls, json_schema, reasoning_effort and the bound", () => {
    const schema = { type: "object", properties: { city: { type: "string" } } };
    const out = convertRequest(
      {
        messages: [{ role: "user", content: "hi" }],
        tools: [
          {
            type: "function",
            function: {
              name: "get_weather",
              description: "Weather",
              parameters: schema,
              strict: true,
            },
          },
          { type: "function", function: { name: "no_params" } },
        ],
        tool_choice: { type: "function", function: { name: "get_weather" } },
        parallel_tool_calls: false,
        response_format: {
          type: "json_schema",
          json_schema: { name: "city", schema, strict: true },
        },
        reasoning_effort: "high",
        max_completion_tokens: 5000,
        max_tokens: 9000,
        prompt_cache_key: "conv-1",
        temperature: 1,
        frequency_penalty: 0.5,
        stream: true,
        stream_options: { include_usage: true },
      },
      { model: "my-pro", options: { maxTokens: 4000 } },
    );
    expect(out).toEqual({
      model: "gpt-5-pro",
      input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
      store: false,
      max_output_tokens: 4000,
      reasoning: { effort: "high" },
      text: { format: { type: "json_schema", name: "city", schema, strict: true } },
      tools: [
        {
          type: "function",
          name: "get_weather",
          description: "Weather",
          parameters: schema,
          strict: true,
        },
        {
          type: "function",
          name: "no_params",
          parameters: { type: "object", properties: {} },
          strict: false,
        },
      ],
      tool_choice: { type: "function", name: "get_weather" },
      parallel_tool_calls: false,
      prompt_cache_key: "conv-1",
      temperature: 1,
      stream: true,
    });
    // The client's bound when it is the lower one.
    expect(
      convertRequest(
        { messages: [{ role: "user", content: "hi" }], max_tokens: 300 },
        { model: "my-pro", options: { maxTokens: 4000 } },
      ).max_output_tokens,
    ).toBe(300);
  });

  it("asks for reasoning summaries only when the channel says so", () => {
    const messages = [{ role: "user", content: "hi" }];
    expect(convertRequest({ messages })).not.toHaveProperty("reasoning");
    const summarised = { model: "my-pro", options: { reasoning_summary: "auto" } };
    expect(convertRequest({ messages }, summarised).reasoning).toEqual({ summary: "auto" });
    expect(convertRequest({ messages, reasoning_effort: "low" }, summarised).reasoning).toEqual({
      effort: "low",
      summary: "auto",
    });
    expect(responsesOnlyConfigProblem({ reasoning_summary: "detailed" })).toBeUndefined();
    const problem = adapterFor("openai").configProblem?.({ reasoning_summary: "full" });
    expect(problem && renderEn(problem)).toContain(
      "config.reasoning_summary must be one of auto, concise, detailed",
    );
  });

  it("refuses with a 400 naming the field what the Responses API cannot carry", () => {
    const refused = (body: Event) => {
      try {
        convertRequest(body);
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidRequest);
        return (err as InvalidRequest).param;
      }
      throw new Error("not refused");
    };
    const messages = [{ role: "user", content: "hi" }];
    expect(refused({ messages, n: 2 })).toBe("n");
    expect(refused({ messages, stop: ["END"] })).toBe("stop");
    expect(refused({ messages, modalities: ["text", "audio"] })).toBe("audio");
    expect(refused({ messages, functions: [{ name: "f" }] })).toBe("functions");
    expect(refused({ messages, tools: [{ type: "custom", custom: { name: "x" } }] })).toBe(
      "tools[0]",
    );
    expect(refused({ messages: [{ role: "function", name: "f", content: "x" }] })).toBe(
      "messages[0].role",
    );
    expect(refused({ messages: [{ role: "tool", content: "x" }] })).toBe(
      "messages[0].tool_call_id",
    );
    expect(
      refused({
        messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }],
      }),
    ).toBe("messages[0].content[0]");
    expect(refused({ messages: [] })).toBe("messages");
    // Empty stops are no stops.
    expect(() => convertRequest({ messages, stop: [] })).not.toThrow();
  });
});

describe("chat → Responses: the stream", () => {
  it("sends parallel calls on distinct indexes, text as content, summaries as reasoning_content", async () => {
    const { out, end, bridge } = convert(sse(PARALLEL));
    expect(end.complete).toBe(true);
    expect(out.endsWith("data: [DONE]\n\n")).toBe(true);
    const { chunks, final } = await accumulate(out);
    expect(chunks.every((c) => c.id === RESPONSE.id && c.model === "my-pro")).toBe(true);
    // Each call's deltas on its own index (LiteLLM #21331 put every call on 0).
    const indexes = chunks.flatMap(
      (c) => c.choices[0]?.delta.tool_calls?.map((t) => t.index) ?? [],
    );
    expect(new Set(indexes)).toEqual(new Set([0, 1]));
    const message = final.choices[0]?.message;
    expect(message?.content).toBe("Checking both cities… 🌦");
    expect(message?.tool_calls).toEqual([
      {
        id: "call_fc_a",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Paris"}' },
      },
      {
        id: "call_fc_b",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
      },
    ]);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(reasoningOf(chunks)).toBe("**Two cities** — ask for both.\n\nAt once.");
    expect(final.usage).toEqual({
      prompt_tokens: 5200,
      completion_tokens: 900,
      total_tokens: 6100,
      prompt_tokens_details: { cached_tokens: 4096 },
      completion_tokens_details: { reasoning_tokens: 640 },
    });
    // Billed from the Responses usage itself: cached input and reasoning apart.
    expect(bridge.metered()).toEqual({
      inputTokens: 1104,
      cachedInputTokens: 4096,
      outputTokens: 260,
      reasoningTokens: 640,
    });
  });

  it("sends arguments that came only whole once, and never twice", async () => {
    const whole = [
      { type: "response.created", response: RESPONSE },
      // No added event, no deltas: only the item, done.
      {
        type: "response.output_item.done",
        output_index: 0,
        item: call("fc_x", "ls", '{"path":"/"}'),
      },
      { type: "response.output_item.added", output_index: 1, item: call("fc_y", "ls", "") },
      {
        type: "response.function_call_arguments.done",
        item_id: "fc_y",
        output_index: 1,
        arguments: '{"path":"/tmp"}',
      },
      {
        type: "response.output_item.done",
        output_index: 1,
        item: call("fc_y", "ls", '{"path":"/tmp"}'),
      },
      { type: "response.completed", response: { ...RESPONSE, status: "completed", usage: USAGE } },
    ];
    const { final } = await accumulate(convert(sse(whole)).out);
    expect(callsOf(final).map((t) => t.function.arguments)).toEqual([
      '{"path":"/"}',
      '{"path":"/tmp"}',
    ]);
  });

  it("ends an answer cut by max_output_tokens with `length`, and by the filter with `content_filter`", async () => {
    const ended = (incomplete: Event) => [
      { type: "response.created", response: RESPONSE },
      {
        type: "response.output_text.delta",
        item_id: "m",
        output_index: 0,
        content_index: 0,
        delta: "Par",
      },
      {
        type: "response.incomplete",
        response: {
          ...RESPONSE,
          status: "incomplete",
          incomplete_details: incomplete,
          usage: USAGE,
        },
      },
    ];
    const length = await accumulate(convert(sse(ended({ reason: "max_output_tokens" }))).out);
    expect(length.final.choices[0]?.finish_reason).toBe("length");
    const filtered = await accumulate(convert(sse(ended({ reason: "content_filter" }))).out);
    expect(filtered.final.choices[0]?.finish_reason).toBe("content_filter");
  });

  it("turns response.failed and an error event into OpenAI's error chunk (the SDK raises it), failed usage still billed", async () => {
    const failed = [
      { type: "response.created", response: RESPONSE },
      {
        type: "response.output_text.delta",
        item_id: "m",
        output_index: 0,
        content_index: 0,
        delta: "Hal",
      },
      {
        type: "response.failed",
        response: {
          ...RESPONSE,
          status: "failed",
          error: { code: "server_error", message: "The model failed mid-answer." },
          usage: USAGE,
        },
      },
    ];
    const { out, end, bridge } = convert(sse(failed));
    expect(end.complete).toBe(false);
    expect(out).not.toContain("[DONE]");
    await expect(accumulate(out)).rejects.toThrow("The model failed mid-answer.");
    expect(bridge.metered()?.reasoningTokens).toBe(640);

    const errored = convert(
      sse([{ type: "error", code: "rate_limit_exceeded", message: "Slow down.", param: null }]),
    );
    expect(errored.out).toContain('"code":"rate_limit_exceeded"');
    await expect(accumulate(errored.out)).rejects.toThrow("Slow down.");
  });

  it("reports a stream cut before response.completed as incomplete, with the interrupted chunk", async () => {
    const { out, end, bridge } = convert(sse(PARALLEL.slice(0, 14)));
    expect(end.complete).toBe(false);
    expect(bridge.metered()).toBeUndefined();
    await expect(accumulate(out)).rejects.toThrow("The upstream stopped");
  });

  it("writes no usage chunk unless asked", () => {
    const { out } = convert(sse(PARALLEL), { model: "my-pro", options: {} });
    expect(out).not.toContain('"usage"');
  });
});

describe("chat → Responses: the whole answer and errors", () => {
  it("answers text, reasoning, refusal and function calls as one chat.completion", () => {
    const answer = chatToResponses.answer(
      {
        ...RESPONSE,
        status: "completed",
        output: [
          { id: "rs_1", type: "reasoning", summary: [{ type: "summary_text", text: "Plan." }] },
          {
            id: "msg_1",
            type: "message",
            role: "assistant",
            content: [
              { type: "output_text", text: "Both: ", annotations: [] },
              { type: "output_text", text: "checking.", annotations: [] },
            ],
          },
          call("fc_a", "get_weather", '{"city":"Paris"}'),
          call("fc_b", "get_weather", '{"city":"Oslo"}'),
        ],
        usage: USAGE,
      },
      CONTEXT,
    );
    expect(answer).toMatchObject({
      id: RESPONSE.id,
      object: "chat.completion",
      created: RESPONSE.created_at,
      model: "my-pro",
      choices: [
        {
          index: 0,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            content: "Both: checking.",
            refusal: null,
            reasoning_content: "Plan.",
            tool_calls: [
              {
                id: "call_fc_a",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' },
              },
              {
                id: "call_fc_b",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
              },
            ],
          },
        },
      ],
      usage: { prompt_tokens: 5200, prompt_tokens_details: { cached_tokens: 4096 } },
    });
    const raw = chatToResponses.answer(
      {
        ...RESPONSE,
        status: "completed",
        output: [
          { type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: "Raw." }] },
          { type: "message", content: [{ type: "refusal", refusal: "I can't." }] },
        ],
      },
      CONTEXT,
    );
    expect(raw.choices).toMatchObject([
      {
        message: { content: null, refusal: "I can't.", reasoning_content: "Raw." },
        finish_reason: "stop",
      },
    ]);
  });

  it("is the upstream's failure, not an answer, when the response failed", () => {
    expect(() =>
      chatToResponses.answer(
        { ...RESPONSE, status: "failed", error: { code: "server_error", message: "Broke." } },
        CONTEXT,
      ),
    ).toThrow(UpstreamRejected);
  });

  it("keeps a Responses refusal's status, type and message", () => {
    expect(
      chatToResponses.error(400, {
        message: "Invalid schema for response_format 'city'.",
        type: "invalid_request_error",
        param: "text.format.schema",
        code: "invalid_json_schema",
      }),
    ).toEqual({
      status: 400,
      type: "invalid_request_error",
      message: "Invalid schema for response_format 'city'.",
    });
  });
});

describe("which channels serve chat through the bridge", () => {
  const channel = (config: Record<string, string>, id = "ch-1") =>
    ({ id, type: "openai", config }) as unknown as ChannelRecord;
  const openai = adapterFor("openai");

  it("reads OpenAI's 'only supported in v1/responses' refusal, and no other 404", () => {
    const body = JSON.stringify({
      error: {
        message: "This model is only supported in v1/responses and not in v1/chat/completions.",
        type: "invalid_request_error",
        param: "model",
        code: null,
      },
    });
    const headers = { get: () => null };
    expect(readOpenAiError(404, headers, body)).toMatchObject({
      kind: "client_error",
      retryable: false,
      onlyIn: "responses",
    });
    const missing = JSON.stringify({
      error: { message: "The model `x` does not exist", type: "invalid_request_error" },
    });
    expect(readOpenAiError(404, headers, missing).onlyIn).toBeUndefined();
    // A host quoting a client's value back (a 400, or a 404 on another param) marks nothing.
    const quoted = (param: string | null) =>
      JSON.stringify({
        error: {
          message: "Invalid value: 'only supported in v1/responses'.",
          type: "invalid_request_error",
          param,
          code: null,
        },
      });
    expect(readOpenAiError(400, headers, quoted("model")).onlyIn).toBeUndefined();
    expect(readOpenAiError(404, headers, quoted("user")).onlyIn).toBeUndefined();
    expect(readOpenAiError(404, headers, quoted(null)).onlyIn).toBeUndefined();
  });

  it("pins models by config.responses_only, validated like the other channel options", () => {
    expect(responsesOnlyConfigProblem({})).toBeUndefined();
    expect(responsesOnlyConfigProblem({ responses_only: "o3-pro, gpt-5-codex" })).toBeUndefined();
    expect(responsesOnlyConfigProblem({ responses_only: "*" })).toBeUndefined();
    const problem = responsesOnlyConfigProblem({ responses_only: "o3-pro,,x" });
    expect(problem && renderEn(problem)).toContain('"" is not one');
    expect(responsesOnlyConfigProblem({ responses_only: "" })).toBeDefined();
    const refused = openai.configProblem?.({ responses_only: "o3 pro" });
    expect(refused && renderEn(refused)).toContain("responses_only");

    const pinned = channel({ responses_only: "o3-pro,alias" });
    expect(chatServedBy(pinned, openai, "o3-pro", "o3-pro", false)?.bridge).toBe(
      bridgeFor("chat", "responses"),
    );
    // By the client's name or the upstream's.
    expect(chatServedBy(pinned, openai, "alias", "gpt-5-pro", false)?.protocol).toBe("responses");
    expect(chatServedBy(pinned, openai, "gpt-4.1", "gpt-4.1", false)).toBeUndefined();
    expect(chatServedBy(channel({ responses_only: "*" }), openai, "a", "b", false)?.protocol).toBe(
      "responses",
    );
  });

  it("bridges a pair known not to serve chat, only on a channel whose adapter serves Responses", () => {
    const one = channel({}, `ch-gap-${Math.random()}`);
    expect(chatServedBy(one, openai, "m", "gpt-5-pro", false)).toBeUndefined();
    expect(chatServedBy(one, openai, "m", "gpt-5-pro", true)?.protocol).toBe("responses");
    // A channel type with no Responses API has nothing to send the call to.
    expect(chatServedBy(one, adapterFor("anthropic"), "m", "gpt-5-pro", true)).toBeUndefined();
  });
});

describe("chat → Responses against the demo upstream's Responses API", () => {
  let upstream: DemoUpstream;
  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: "sk-demo" });
  });
  afterAll(() => upstream.close());

  const post = (body: Event) =>
    fetch(`${upstream.origin}/v1/responses`, {
      method: "POST",
      headers: { authorization: "Bearer sk-demo", "content-type": "application/json" },
      body: JSON.stringify({ ...body, model: "gpt-5-pro-demo" }),
    });

  const tools = ["read_file", "list_dir"].map((name) => ({
    type: "function",
    function: { name, parameters: { type: "object", properties: { path: { type: "string" } } } },
  }));

  it("converts its real event stream: reasoning, parallel calls on distinct indexes, usage", async () => {
    const request = chatToResponses.request(
      {
        model: "gpt-5-pro",
        messages: [{ role: "user", content: "use every tool" }],
        tools,
        stream: true,
      },
      CONTEXT,
    );
    const response = await post(request);
    expect(response.status).toBe(200);
    const { out, end } = convert(await response.text());
    expect(end.complete).toBe(true);
    const { chunks, final } = await accumulate(out);
    expect(callsOf(final).map((t) => [t.function.name, t.function.arguments])).toEqual([
      ["read_file", '{"path":"sluice"}'],
      ["list_dir", '{"path":"sluice"}'],
    ]);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(reasoningOf(chunks)).toContain("Thinking about: use every tool");
    expect(final.usage?.completion_tokens_details?.reasoning_tokens).toBeGreaterThan(0);

    // The tool results go back as function_call_output items, and the model reads them.
    const calls = callsOf(final);
    const next = chatToResponses.request(
      {
        model: "gpt-5-pro",
        messages: [
          { role: "user", content: "use every tool" },
          { role: "assistant", content: null, tool_calls: calls },
          ...calls.map((c) => ({
            role: "tool",
            tool_call_id: c.id,
            content: `${c.function.name} ok`,
          })),
        ],
        tools,
      },
      CONTEXT,
    );
    const answer = chatToResponses.answer((await (await post(next)).json()) as Event, CONTEXT);
    expect(answer.choices).toMatchObject([
      { message: { content: "The tool said: list_dir ok" }, finish_reason: "stop" },
    ]);
  });
});
