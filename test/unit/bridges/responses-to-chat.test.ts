import type {
  Response as OpenAIResponse,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../../infra/local/demo-upstream";
import { fromChatUsage } from "../../../shared/billing/usage/openai-chat";
import { InvalidRequest } from "../../../shared/errors";
import type { BridgeContext } from "../../../shared/relay/bridges/bridge";
import { inputSoFar } from "../../../shared/relay/bridges/responses-to-chat/custom-input";
import {
  isSluiceReasoning,
  omittedTools,
  responsesToChat,
} from "../../../shared/relay/bridges/responses-to-chat/index";
import { chatNameOf } from "../../../shared/relay/bridges/responses-to-chat/tools";
import { runThrough, sdkAnsweredWith, sseAnswer } from "./stream-harness";

/**
 * The Responses → chat bridge (design brief §10): Codex and the openai SDK's `responses.*` on a
 * chat-only channel. Upstream streams are DeepSeek's as its docs and the demo upstream show them
 * (reasoning_content first, tool calls by index, a finish chunk with an empty delta, a
 * `choices: []` usage chunk, `[DONE]`), cut into network chunks at odd places, converted, and
 * read back by the official openai SDK's Responses stream accumulator.
 */

type Fields = Record<string, unknown>;

const APPLY_PATCH = {
  type: "custom",
  name: "apply_patch",
  description: "Applies a patch.",
  format: { type: "grammar", syntax: "lark", definition: 'start: "*** Begin Patch" /.+/s' },
};
const SHELL = {
  type: "function",
  name: "shell",
  description: "Runs a command.",
  parameters: {
    type: "object",
    properties: { command: { type: "array", items: { type: "string" } } },
  },
};
const LONG_NS = "mcp__a_server_with_a_rather_long_name_for_testing";
const LONG_NAME = "create_an_issue_with_labels_and_assignees";
const GITHUB = {
  type: "namespace",
  name: "mcp__github",
  description: "GitHub",
  tools: [
    { type: "function", name: "create_issue", parameters: { type: "object", properties: {} } },
  ],
};
const LONG = {
  type: "namespace",
  name: LONG_NS,
  description: "long",
  tools: [{ type: "function", name: LONG_NAME, parameters: { type: "object", properties: {} } }],
};
const TOOL_SEARCH = { type: "tool_search", execution: "client", description: "Finds tools." };

/** A request as Codex sends it, for the way back (names and kinds are restored from it). */
const REQUEST: Fields = {
  model: "deepseek-v4-flash",
  instructions: "You are Codex.",
  input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
  tools: [SHELL, APPLY_PATCH, GITHUB, LONG, TOOL_SEARCH, { type: "web_search" }],
  stream: true,
  store: false,
};
const CONTEXT: BridgeContext = { model: "my-deepseek", request: REQUEST };

let serial = 0;
/** One DeepSeek chunk with this delta (and finish reason). */
function chunk(delta: Fields, finish: string | null = null): Fields {
  return {
    id: "c0a1b2c3-d4e5",
    object: "chat.completion.chunk",
    created: 1_780_000_000 + serial++,
    model: "deepseek-v4-flash",
    system_fingerprint: "fp_demo",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}
/** DeepSeek's usage chunk (cache hits spelled both its way and OpenAI's). */
function usageChunk(prompt: number, hit: number, completion: number, reasoning: number): Fields {
  return {
    id: "c0a1b2c3-d4e5",
    object: "chat.completion.chunk",
    created: 1_780_000_100,
    model: "deepseek-v4-flash",
    choices: [],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: hit },
      prompt_cache_hit_tokens: hit,
      prompt_cache_miss_tokens: prompt - hit,
      completion_tokens_details: { reasoning_tokens: reasoning },
    },
  };
}
const sse = (chunks: Fields[], done = true) =>
  chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + (done ? "data: [DONE]\n\n" : "");

/** Text cut into pieces of 1..max characters (seeded, so a failure repeats). */
function split(text: string, seed: number, max = 5): string[] {
  const out: string[] = [];
  let s = seed;
  for (let i = 0; i < text.length; ) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (s % max);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}
const reasoningChunks = (text: string, seed = 1) =>
  split(text, seed).map((piece) => chunk({ content: null, reasoning_content: piece }));
const textChunks = (text: string, seed = 2) =>
  split(text, seed).map((piece) => chunk({ content: piece, reasoning_content: null }));
/** One tool call as DeepSeek streams it: id and name first, then argument fragments. */
function callChunks(index: number, id: string, name: string, args: string, seed = 3): Fields[] {
  return [
    chunk({ tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }] }),
    ...split(args, seed).map((piece) =>
      chunk({ tool_calls: [{ index, function: { arguments: piece } }] }),
    ),
  ];
}

/** Runs chat SSE text through the bridge in `piece`-byte network chunks. */
function convert(text: string, context = CONTEXT, piece = 7) {
  const bridge = responsesToChat.stream(context);
  return { ...runThrough(bridge, text, piece), bridge };
}

/** The events of the Responses SSE text, checked for the grammar every client relies on. */
function eventsOf(text: string): Fields[] {
  const blocks = text.split("\n\n").filter((b) => b !== "");
  const events = blocks.map((block) => {
    const [eventLine, dataLine, ...rest] = block.split("\n");
    expect(rest).toEqual([]);
    expect(dataLine).not.toBe("data: [DONE]");
    const data = JSON.parse((dataLine as string).slice(6)) as Fields;
    expect(eventLine).toBe(`event: ${String(data.type)}`);
    return data;
  });
  // sequence_number counts from 0, one by one.
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  expect(events.slice(0, 2).map((e) => e.type)).toEqual([
    "response.created",
    "response.in_progress",
  ]);
  // One response id everywhere (rule 8).
  const ids = new Set(events.filter((e) => e.response).map((e) => (e.response as Fields).id));
  expect(ids.size).toBe(1);
  expect([...ids][0]).toMatch(/^resp_/);
  // Every item event names an item that was added at that output_index, and is not yet done.
  const added = new Map<number, string>();
  const done = new Set<number>();
  for (const e of events) {
    if (e.output_index === undefined) continue;
    const index = e.output_index as number;
    if (e.type === "response.output_item.added") {
      expect(added.has(index)).toBe(false);
      expect(index).toBe(added.size);
      added.set(index, String((e.item as Fields).id));
      continue;
    }
    expect(added.has(index), `${String(e.type)} at ${index}`).toBe(true);
    expect(done.has(index)).toBe(false);
    if (e.item_id !== undefined) expect(e.item_id).toBe(added.get(index));
    if (e.type === "response.output_item.done") done.add(index);
  }
  return events;
}

/** The Responses SSE text as the openai SDK reads it: its events and its final response. */
async function readBack(
  text: string,
): Promise<{ events: ResponseStreamEvent[]; final: OpenAIResponse }> {
  const stream = sdkAnsweredWith(() => sseAnswer(text)).responses.stream({
    model: "my-deepseek",
    input: "hi",
  });
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return { events, final: await stream.finalResponse() };
}

/**
 * The final response's output without the minted ids (compared by content) and the SDK's own
 * `parsed_arguments` (its parse helper adds them to function calls).
 */
const withoutIds = (output: unknown[]) =>
  output.map((item) => {
    const { id: _, parsed_arguments: __, ...rest } = item as Fields;
    return rest;
  });

const REASONING = "The user wants a patch; I will call apply_patch with the whole patch.";
const PATCH = '*** Begin Patch\n*** Add File: hello.txt\n+héllo "wörld" 😀\n*** End Patch\n';

describe("Responses → chat: streams read back by the openai SDK", () => {
  it("reasoning then text: a reasoning item (summary + sealed encrypted_content), a message, usage with cached tokens (rule 7)", async () => {
    const text = sse([
      chunk({ role: "assistant", content: null, reasoning_content: "" }),
      ...reasoningChunks("Thinking about the greeting."),
      ...textChunks("Hello, wörld 😀!"),
      chunk({ content: "", reasoning_content: null }, "stop"),
      usageChunk(120, 64, 30, 9),
    ]);
    const { out, end, bridge } = convert(text);
    expect(end.complete).toBe(true);
    const events = eventsOf(out);
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_summary_part.added",
      ...events
        .filter((e) => e.type === "response.reasoning_summary_text.delta")
        .map(() => "response.reasoning_summary_text.delta"),
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      ...events
        .filter((e) => e.type === "response.output_text.delta")
        .map(() => "response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const { final } = await readBack(out);
    expect(final.status).toBe("completed");
    expect(final.model).toBe("my-deepseek");
    const [reasoning, message] = final.output as unknown as Fields[];
    expect(reasoning).toMatchObject({
      type: "reasoning",
      summary: [{ type: "summary_text", text: "Thinking about the greeting." }],
    });
    expect(isSluiceReasoning(reasoning)).toBe(true);
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "Hello, wörld 😀!", annotations: [] }],
    });
    expect(final.usage).toEqual({
      input_tokens: 120,
      input_tokens_details: { cached_tokens: 64 },
      output_tokens: 30,
      output_tokens_details: { reasoning_tokens: 9 },
      total_tokens: 150,
    });
    // Billed as a chat call: the chat reader's kinds, unchanged.
    expect(bridge.metered()).toEqual(fromChatUsage(usageChunk(120, 64, 30, 9).usage));
  });

  it("DeepSeek's cache hits alone (prompt_cache_hit_tokens) still give cached_tokens", async () => {
    const usage = usageChunk(100, 40, 5, 0);
    delete ((usage.usage as Fields).prompt_tokens_details as Fields | undefined)?.cached_tokens;
    (usage.usage as Fields).prompt_tokens_details = undefined;
    const { out } = convert(sse([...textChunks("ok"), chunk({}, "stop"), usage]));
    const { final } = await readBack(out);
    expect(final.usage?.input_tokens_details).toEqual({ cached_tokens: 40 });
    expect(final.usage?.input_tokens).toBe(100);
  });

  it("a custom tool's call is a custom_tool_call with its raw input, streamed as custom_tool_call_input events (rule 1)", async () => {
    const text = sse([
      ...reasoningChunks(REASONING),
      ...callChunks(0, "call_00_patch", "apply_patch", JSON.stringify({ input: PATCH })),
      chunk({ content: null }, "tool_calls"),
      usageChunk(500, 0, 80, 20),
    ]);
    const { out } = convert(text, CONTEXT, 3);
    const events = eventsOf(out);
    expect(events.some((e) => String(e.type).startsWith("response.function_call_arguments"))).toBe(
      false,
    );
    const deltas = events.filter((e) => e.type === "response.custom_tool_call_input.delta");
    // Streamed as it comes (escapes split across fragments decoded whole), not only at the end.
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.map((e) => e.delta).join("")).toBe(PATCH);
    expect(events.find((e) => e.type === "response.custom_tool_call_input.done")).toMatchObject({
      input: PATCH,
    });
    const { final } = await readBack(out);
    expect(withoutIds(final.output)).toEqual([
      {
        type: "reasoning",
        summary: [{ type: "summary_text", text: REASONING }],
        encrypted_content: expect.stringMatching(/^sluice1\./),
      },
      { type: "custom_tool_call", call_id: "call_00_patch", name: "apply_patch", input: PATCH },
    ]);
  });

  it("namespaced tools come back with name and namespace, a >64-character one restored through its hash (rule 2)", async () => {
    const longChat = chatNameOf(LONG_NAME, LONG_NS);
    expect(longChat.length).toBeLessThanOrEqual(64);
    const text = sse([
      ...callChunks(0, "call_00_gh", "mcp__github__create_issue", '{"title":"bug"}'),
      ...callChunks(1, "call_01_long", longChat, "{}"),
      chunk({}, "tool_calls"),
      usageChunk(50, 0, 10, 0),
    ]);
    const { out } = convert(text);
    eventsOf(out);
    const { final } = await readBack(out);
    expect(withoutIds(final.output)).toEqual([
      {
        type: "function_call",
        status: "completed",
        call_id: "call_00_gh",
        name: "create_issue",
        namespace: "mcp__github",
        arguments: '{"title":"bug"}',
      },
      {
        type: "function_call",
        status: "completed",
        call_id: "call_01_long",
        name: LONG_NAME,
        namespace: LONG_NS,
        arguments: "{}",
      },
    ]);
  });

  it("a client-run tool_search call is a tool_search_call with its arguments (rule 11)", async () => {
    const text = sse([
      ...callChunks(0, "call_00_ts", "tool_search", '{"query":"calendar tools"}'),
      chunk({}, "tool_calls"),
      usageChunk(50, 0, 10, 0),
    ]);
    const { out } = convert(text);
    eventsOf(out);
    const { final } = await readBack(out);
    expect(withoutIds(final.output)).toEqual([
      {
        type: "tool_search_call",
        call_id: "call_00_ts",
        execution: "client",
        status: "completed",
        arguments: { query: "calendar tools" },
      },
    ]);
  });

  it("parallel calls interleaved by index each keep their own output_index and arguments (rule 4)", async () => {
    const a = JSON.stringify({ command: ["echo", "one"] });
    const b = JSON.stringify({ command: ["echo", "twó 😀"] });
    const fa = split(a, 11, 3);
    const fb = split(b, 12, 3);
    const interleaved: Fields[] = [
      ...reasoningChunks("Two commands at once.", 5),
      chunk({
        tool_calls: [
          {
            index: 0,
            id: "call_00_a",
            type: "function",
            function: { name: "shell", arguments: "" },
          },
        ],
      }),
      chunk({
        tool_calls: [
          {
            index: 1,
            id: "call_01_b",
            type: "function",
            function: { name: "shell", arguments: "" },
          },
        ],
      }),
    ];
    for (let i = 0; i < Math.max(fa.length, fb.length); i++) {
      if (fb[i])
        interleaved.push(chunk({ tool_calls: [{ index: 1, function: { arguments: fb[i] } }] }));
      if (fa[i])
        interleaved.push(chunk({ tool_calls: [{ index: 0, function: { arguments: fa[i] } }] }));
    }
    const { out } = convert(
      sse([...interleaved, chunk({}, "tool_calls"), usageChunk(80, 0, 40, 5)]),
      CONTEXT,
      1,
    );
    const events = eventsOf(out);
    const argsAt = (index: number) =>
      events
        .filter(
          (e) => e.type === "response.function_call_arguments.delta" && e.output_index === index,
        )
        .map((e) => e.delta)
        .join("");
    expect(argsAt(1)).toBe(a);
    expect(argsAt(2)).toBe(b);
    const { events: read, final } = await readBack(out);
    expect(
      read
        .filter((e) => e.type === "response.function_call_arguments.done")
        .map((e) => (e as { arguments: string }).arguments),
    ).toEqual([a, b]);
    expect(withoutIds(final.output).slice(1)).toEqual([
      {
        type: "function_call",
        status: "completed",
        call_id: "call_00_a",
        name: "shell",
        arguments: a,
      },
      {
        type: "function_call",
        status: "completed",
        call_id: "call_01_b",
        name: "shell",
        arguments: b,
      },
    ]);
  });

  it("arguments that come whole with the name, or before it, still get a delta before done (rule 5)", async () => {
    const args = '{"command":["ls"]}';
    const text = sse([
      // Whole in the first fragment.
      chunk({
        tool_calls: [
          {
            index: 0,
            id: "call_00",
            type: "function",
            function: { name: "shell", arguments: args },
          },
        ],
      }),
      // Arguments before the name (a host that sends the name last).
      chunk({
        tool_calls: [{ index: 1, id: "call_01", type: "function", function: { arguments: args } }],
      }),
      chunk({ tool_calls: [{ index: 1, function: { name: "shell" } }] }),
      chunk({}, "tool_calls"),
      usageChunk(10, 0, 5, 0),
    ]);
    const { out } = convert(text);
    const events = eventsOf(out);
    for (const index of [0, 1]) {
      const deltas = events.filter(
        (e) => e.type === "response.function_call_arguments.delta" && e.output_index === index,
      );
      expect(deltas.map((e) => e.delta).join("")).toBe(args);
      const doneAt = events.findIndex(
        (e) => e.type === "response.function_call_arguments.done" && e.output_index === index,
      );
      expect(events.indexOf(deltas.at(-1) as Fields)).toBeLessThan(doneAt);
    }
    const { final } = await readBack(out);
    expect(final.output.map((o) => (o as unknown as Fields).arguments)).toEqual([args, args]);
  });

  it("the same stream in 1-byte and whole pieces converts to the same events (ids aside)", () => {
    const text = sse([
      ...reasoningChunks(REASONING),
      ...textChunks("Patching."),
      ...callChunks(0, "call_00_patch", "apply_patch", JSON.stringify({ input: PATCH })),
      chunk({}, "tool_calls"),
      usageChunk(10, 2, 5, 1),
    ]);
    const strip = (s: string) =>
      s
        .replace(/"(resp|rs|msg|fc|ctc|tsc)_[0-9a-f]{32}"/g, '"$1_x"')
        .replace(/"created_at":\d+/g, "");
    expect(strip(convert(text, CONTEXT, 1).out)).toBe(
      strip(convert(text, CONTEXT, text.length).out),
    );
  });

  it("the face's response id is the one every event carries (rule 8)", () => {
    const { out } = convert(sse([...textChunks("ok"), chunk({}, "stop"), usageChunk(1, 0, 1, 0)]), {
      ...CONTEXT,
      responseId: "resp_from_the_face",
    });
    const events = eventsOf(out);
    expect(events[0]).toMatchObject({ response: { id: "resp_from_the_face" } });
  });

  it("a stream cut mid-call is incomplete and ends in response.failed, which the SDK hands over", async () => {
    const text = sse(
      [
        ...reasoningChunks("Going to run it."),
        ...callChunks(0, "call_00", "shell", '{"command":["ls"]}').slice(0, 3),
      ],
      false,
    );
    const { out, end } = convert(text);
    expect(end.complete).toBe(false);
    const events = eventsOf(out);
    const last = events.at(-1) as Fields;
    expect(last.type).toBe("response.failed");
    expect(last.response).toMatchObject({
      status: "failed",
      error: {
        code: "server_error",
        message: "The upstream stopped before the answer was complete.",
      },
    });
    expect(events.some((e) => e.type === "response.completed")).toBe(false);
    // Its output as far as it came: the reasoning whole, the call incomplete with its arguments so far.
    const output = (last.response as Fields).output as Fields[];
    expect(withoutIds(output)).toEqual([
      {
        type: "reasoning",
        summary: [{ type: "summary_text", text: "Going to run it." }],
        encrypted_content: expect.stringMatching(/^sluice1\./),
      },
      {
        type: "function_call",
        status: "incomplete",
        call_id: "call_00",
        name: "shell",
        arguments: expect.any(String),
      },
    ]);
    expect('{"command":["ls"]}'.startsWith(String(output[1]?.arguments))).toBe(true);
    // The SDK does not throw on response.failed: the client sees the event and its error, and
    // the accumulated response is not a completed one.
    const { events: read, final } = await readBack(out);
    expect(read.at(-1)).toMatchObject({
      type: "response.failed",
      response: { error: { code: "server_error" } },
    });
    expect(final.status).not.toBe("completed");
  });

  it("an upstream error chunk mid-stream ends in response.failed with its message, and nothing after", () => {
    const { out, end, bridge } = convert(
      sse([
        ...textChunks("partial"),
        { error: { message: "Service overloaded", type: "server_error" } },
      ]),
    );
    expect(end.complete).toBe(false);
    const events = eventsOf(out);
    expect(events.at(-1)).toMatchObject({
      type: "response.failed",
      response: { error: { message: "Service overloaded" } },
    });
    expect(bridge.broken("again")).toBe("");
  });

  it("a length finish is response.incomplete with max_output_tokens", () => {
    const { out, end } = convert(
      sse([...textChunks("cut sh"), chunk({}, "length"), usageChunk(5, 0, 3, 0)]),
    );
    expect(end.complete).toBe(true);
    expect(eventsOf(out).at(-1)).toMatchObject({
      type: "response.incomplete",
      response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } },
    });
  });
});

describe("Responses → chat: whole answers (rule 6: every item type, plain as streamed)", () => {
  it("reasoning, text, function, custom, namespaced and tool_search calls; usage with cached tokens", async () => {
    const completion = {
      id: "c0a1",
      object: "chat.completion",
      created: 1_780_000_000,
      model: "deepseek-v4-flash",
      choices: [
        {
          index: 0,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            reasoning_content: REASONING,
            content: "Doing it.",
            tool_calls: [
              {
                id: "call_0",
                type: "function",
                function: { name: "shell", arguments: '{"command":["ls"]}' },
              },
              {
                id: "call_1",
                type: "function",
                function: { name: "apply_patch", arguments: JSON.stringify({ input: PATCH }) },
              },
              {
                id: "call_2",
                type: "function",
                function: { name: "mcp__github__create_issue", arguments: "{}" },
              },
              {
                id: "call_3",
                type: "function",
                function: { name: "tool_search", arguments: '{"query":"x"}' },
              },
            ],
          },
        },
      ],
      usage: usageChunk(900, 512, 60, 12).usage,
    };
    const converted = responsesToChat.answer(completion, { ...CONTEXT, responseId: "resp_whole" });
    const client = sdkAnsweredWith(() => Response.json(converted));
    const read = await client.responses.create({ model: "my-deepseek", input: "hi" });
    expect(read.id).toBe("resp_whole");
    expect(read.status).toBe("completed");
    expect(read.output_text).toBe("Doing it.");
    expect(withoutIds(read.output)).toEqual([
      {
        type: "reasoning",
        summary: [{ type: "summary_text", text: REASONING }],
        encrypted_content: expect.stringMatching(/^sluice1\./),
      },
      {
        type: "message",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: "Doing it.", annotations: [], logprobs: [] }],
      },
      {
        type: "function_call",
        status: "completed",
        call_id: "call_0",
        name: "shell",
        arguments: '{"command":["ls"]}',
      },
      { type: "custom_tool_call", call_id: "call_1", name: "apply_patch", input: PATCH },
      {
        type: "function_call",
        status: "completed",
        call_id: "call_2",
        name: "create_issue",
        namespace: "mcp__github",
        arguments: "{}",
      },
      {
        type: "tool_search_call",
        call_id: "call_3",
        execution: "client",
        status: "completed",
        arguments: { query: "x" },
      },
    ]);
    expect(read.usage).toEqual({
      input_tokens: 900,
      input_tokens_details: { cached_tokens: 512 },
      output_tokens: 60,
      output_tokens_details: { reasoning_tokens: 12 },
      total_tokens: 960,
    });
  });

  it("an upstream's refusal keeps its status with OpenAI's type; the upstream's key trouble is a 502", () => {
    expect(responsesToChat.error(400, { message: "bad" })).toEqual({
      status: 400,
      type: "invalid_request_error",
      message: "bad",
    });
    expect(responsesToChat.error(429, {})).toMatchObject({ status: 429, type: "rate_limit_error" });
    expect(responsesToChat.error(401, { message: "key" })).toMatchObject({
      status: 502,
      type: "server_error",
    });
    expect(responsesToChat.error(503, {})).toMatchObject({ status: 502, type: "server_error" });
  });
});

/** The chat request the bridge makes of a Responses body. */
const request = (body: Fields, options?: Fields) =>
  responsesToChat.request(body, { model: "m", options });
const refusal = (body: Fields): InvalidRequest => {
  try {
    request(body);
  } catch (err) {
    if (err instanceof InvalidRequest) return err;
    throw err;
  }
  throw new Error("the request was accepted");
};
const user = (text: string) => ({
  type: "message",
  role: "user",
  content: [{ type: "input_text", text }],
});

describe("Responses → chat: requests", () => {
  it("instructions and a leading developer message are one system message; a later one is folded into the next user turn (rule 10)", () => {
    const out = request({
      instructions: "Be brief.",
      input: [
        { role: "developer", content: "Sandbox: read-only." },
        user("one"),
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "ok" }] },
        { role: "developer", content: [{ type: "input_text", text: "Approval changed." }] },
        user("two"),
      ],
    });
    expect(out.messages).toEqual([
      { role: "system", content: "Be brief.\n\nSandbox: read-only." },
      { role: "user", content: "one" },
      { role: "assistant", content: "ok" },
      { role: "user", content: "<system-reminder>\nApproval changed.\n</system-reminder>\n\ntwo" },
    ]);
    expect(request({ input: "just text" }).messages).toEqual([
      { role: "user", content: "just text" },
    ]);
  });

  it("tools: functions kept, custom → one `input` string with its grammar, namespaces flattened, client tool_search a function, hosted ones left out (rules 1, 2, 11)", () => {
    const out = request({
      input: "hi",
      tools: REQUEST.tools,
      tool_choice: { type: "function", name: "create_issue", namespace: "mcp__github" },
    });
    const fns = (out.tools as Fields[]).map((t) => t.function as Fields);
    expect(fns.map((f) => f.name)).toEqual([
      "shell",
      "apply_patch",
      "mcp__github__create_issue",
      chatNameOf(LONG_NAME, LONG_NS),
      "tool_search",
    ]);
    expect(fns[1]).toMatchObject({
      parameters: {
        type: "object",
        properties: { input: { type: "string" } },
        required: ["input"],
      },
    });
    expect(String(fns[1]?.description)).toContain('start: "*** Begin Patch" /.+/s');
    expect(out.tool_choice).toEqual({
      type: "function",
      function: { name: "mcp__github__create_issue" },
    });
    expect(
      omittedTools({
        tools: [
          ...(REQUEST.tools as Fields[]),
          { type: "file_search" },
          { type: "tool_search" },
          { type: "web_search" },
        ],
      }),
    ).toEqual(["web_search", "file_search", "tool_search"]);
  });

  it("a name over 64 characters is cut with a hash; two tools flattening to one name are a 400 naming both (rule 2)", () => {
    const long = chatNameOf(LONG_NAME, LONG_NS);
    expect(long).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(chatNameOf(`${LONG_NAME}2`, LONG_NS)).not.toBe(long);
    const err = refusal({
      input: "hi",
      tools: [GITHUB, { type: "function", name: "mcp__github__create_issue", parameters: {} }],
    });
    expect(err.message).toContain("mcp__github.create_issue");
    expect(err.message).toContain('"mcp__github__create_issue"');
  });

  it("calls and outputs: parallel calls one message, custom and tool_search calls as functions, an assistant message between a call and its output folded (rules 1, 3, 4)", () => {
    const out = request({
      tools: REQUEST.tools,
      input: [
        user("go"),
        { type: "function_call", call_id: "c1", name: "shell", arguments: '{"command":["ls"]}' },
        {
          type: "function_call",
          call_id: "c2",
          name: "create_issue",
          namespace: "mcp__github",
          arguments: "{}",
        },
        {
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: "Running both." }],
        },
        { type: "function_call_output", call_id: "c1", output: "a.txt" },
        {
          type: "function_call_output",
          call_id: "c2",
          output: [{ type: "input_text", text: "#1" }],
        },
        { type: "custom_tool_call", call_id: "c3", name: "apply_patch", input: PATCH },
        { type: "custom_tool_call_output", call_id: "c3", output: "Done!" },
        {
          type: "tool_search_call",
          call_id: "c4",
          execution: "client",
          arguments: { query: "cal" },
        },
        {
          type: "tool_search_output",
          call_id: "c4",
          execution: "client",
          tools: [{ type: "function", name: "calendar", parameters: {} }],
        },
        {
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: "All done." }],
        },
      ],
    });
    expect(out.messages).toEqual([
      { role: "user", content: "go" },
      {
        role: "assistant",
        content: "Running both.",
        tool_calls: [
          {
            id: "c1",
            type: "function",
            function: { name: "shell", arguments: '{"command":["ls"]}' },
          },
          {
            id: "c2",
            type: "function",
            function: { name: "mcp__github__create_issue", arguments: "{}" },
          },
        ],
      },
      { role: "tool", tool_call_id: "c1", content: "a.txt" },
      { role: "tool", tool_call_id: "c2", content: "#1" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "c3",
            type: "function",
            function: { name: "apply_patch", arguments: JSON.stringify({ input: PATCH }) },
          },
        ],
      },
      { role: "tool", tool_call_id: "c3", content: "Done!" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "c4",
            type: "function",
            function: { name: "tool_search", arguments: '{"query":"cal"}' },
          },
        ],
      },
      {
        role: "tool",
        tool_call_id: "c4",
        content: JSON.stringify([{ type: "function", name: "calendar", parameters: {} }]),
      },
      { role: "assistant", content: "All done." },
    ]);
    // The tool tool_search loaded is a function the model may call now.
    expect((out.tools as Fields[]).map((t) => (t.function as Fields).name)).toContain("calendar");
  });

  it("sluice's reasoning items come back as reasoning_content on their assistant turn; every assistant turn carries one (rule 9)", () => {
    const sealed = responsesToChat.answer(
      {
        choices: [
          {
            message: { role: "assistant", reasoning_content: "Plan: ls.", tool_calls: [] },
            finish_reason: "stop",
          },
        ],
      },
      CONTEXT,
    ).output as Fields[];
    const body = {
      input: [
        user("go"),
        sealed[0] as Fields,
        { type: "function_call", call_id: "c1", name: "shell", arguments: "{}" },
        { type: "function_call_output", call_id: "c1", output: "x" },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Done." }] },
      ],
    };
    const assistants = (request(body).messages as Fields[]).filter((m) => m.role === "assistant");
    expect(assistants.map((m) => m.reasoning_content)).toEqual(["Plan: ls.", ""]);
    // Not to hosts that refuse the field.
    const openai = request(body, { baseUrl: "https://api.openai.com/v1" }).messages as Fields[];
    expect(openai.some((m) => "reasoning_content" in m)).toBe(false);
    // No reasoning in the history: none sent.
    const plain = request({ input: body.input.filter((i) => i.type !== "reasoning") })
      .messages as Fields[];
    expect(plain.some((m) => "reasoning_content" in m)).toBe(false);
  });

  it("parameters: effort, json_schema, max_output_tokens (or the channel's limit field), stream with usage", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const out = request(
      {
        input: "hi",
        reasoning: { effort: "xhigh", summary: "auto" },
        text: { format: { type: "json_schema", name: "answer", schema, strict: true } },
        max_output_tokens: 300,
        stream: true,
        temperature: 0.2,
        store: false,
        include: ["reasoning.encrypted_content"],
      },
      { limit_field: "max_completion_tokens" },
    );
    expect(out).toEqual({
      messages: [{ role: "user", content: "hi" }],
      reasoning_effort: "high",
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema, strict: true },
      },
      max_completion_tokens: 300,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
    });
    expect(
      request({ input: "hi", reasoning: { effort: "low" }, max_output_tokens: 9 }),
    ).toMatchObject({ reasoning_effort: "low", max_tokens: 9 });
    expect(
      request({ input: "hi", reasoning: { effort: "xhigh" } }, { efforts: "xhigh" })
        .reasoning_effort,
    ).toBe("xhigh");
  });

  it("json_schema on a host that takes only json_object: json_object, the schema in the system message", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const body = {
      instructions: "Be brief.",
      input: "hi",
      text: { format: { type: "json_schema", name: "answer", schema } },
    };
    const note = `Answer with one JSON object, and nothing else, that conforms to this JSON Schema ("answer"):\n${JSON.stringify(schema)}`;
    // DeepSeek's own API by default (it refuses json_schema), any channel when told so.
    for (const options of [
      { baseUrl: "https://api.deepseek.com/v1" },
      { baseUrl: "https://llm.example/v1", json_schema: "prompt" },
    ]) {
      expect(request(body, options)).toEqual({
        messages: [
          { role: "system", content: `Be brief.\n\n${note}` },
          { role: "user", content: "hi" },
        ],
        response_format: { type: "json_object" },
      });
    }
    expect(
      request({ ...body, instructions: undefined }, { json_schema: "prompt" }).messages,
    ).toEqual([
      { role: "system", content: note },
      { role: "user", content: "hi" },
    ]);
    // Elsewhere, and on DeepSeek when told "native", the schema goes up as chat's json_schema.
    for (const options of [
      { baseUrl: "https://llm.example/v1" },
      { baseUrl: "https://api.deepseek.com/v1", json_schema: "native" },
    ]) {
      expect(request(body, options).response_format).toEqual({
        type: "json_schema",
        json_schema: { name: "answer", schema },
      });
    }
  });

  it.each([
    [
      { input: [user("a"), { type: "web_search_call", id: "ws_1", status: "completed" }] },
      "input[1]",
      "web_search_call",
    ],
    [{ input: [{ type: "item_reference", id: "msg_1" }] }, "input[0]", "item_reference"],
    [
      { input: [{ role: "user", content: [{ type: "input_file", file_id: "file_1" }] }] },
      "input[0].content[0]",
      "input_file",
    ],
    [
      { input: "hi", previous_response_id: "resp_1" },
      "previous_response_id",
      "previous_response_id",
    ],
  ])(
    "an item or field the channel cannot take is a 400 naming it (rule 11): %#",
    (body, param, named) => {
      const err = refusal(body as Fields);
      expect(err.param).toBe(param);
      expect(err.message).toContain(named);
    },
  );
});

describe("Responses → chat against the DeepSeek demo upstream", () => {
  const KEY = "sk-deepseek-demo";
  let upstream: DemoUpstream;
  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: KEY, deepseekModels: ["deepseek-v4-flash"] });
  });
  afterAll(() => upstream.close());

  const post = (body: Fields) =>
    fetch(`${upstream.origin}/deepseek/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ ...body, model: "deepseek-v4-flash" }),
    });

  it("a two-turn tool conversation with reasoning passes DeepSeek's reasoning_content check; without the echo it would not", async () => {
    const bash = {
      type: "function",
      name: "Bash",
      parameters: { type: "object", properties: { command: { type: "string" } } },
    };
    const first: Fields = {
      model: "my-deepseek",
      input: [user("USE_BASH please")],
      tools: [bash],
      stream: true,
    };
    const turn1 = await post(request(first));
    expect(turn1.status).toBe(200);
    const { out, end } = convert(await turn1.text(), { model: "my-deepseek", request: first });
    expect(end.complete).toBe(true);
    const { final } = await readBack(out);
    const call = final.output.find((o) => o.type === "function_call") as unknown as Fields;
    expect(call).toMatchObject({ name: "Bash" });
    expect(final.output[0]?.type).toBe("reasoning");
    // Codex sends the whole history back, reasoning items included (store: false).
    const second: Fields = {
      input: [
        user("USE_BASH please"),
        ...(final.output as unknown as Fields[]),
        { type: "function_call_output", call_id: call.call_id, output: "hello-from-tool" },
      ],
      tools: [bash],
    };
    const turn2 = await post(request(second));
    expect(turn2.status, await turn2.clone().text()).toBe(200);
    const answer = responsesToChat.answer((await turn2.json()) as Fields, {
      model: "my-deepseek",
      request: second,
    });
    expect((answer.output as Fields[]).find((o) => o.type === "message")).toMatchObject({
      content: [{ text: expect.stringContaining("tool done: hello-from-tool") }],
    });
    // The control: the same history without reasoning_content is refused by the fixture.
    const refused = await post(request(second, { reasoning_content: "omit" }));
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("must be passed back");
  });
});

describe("Responses → chat: a custom tool's input decoded as it streams", () => {
  it.each([1, 2, 3, 7])(
    "fragments of %i characters, escapes and surrogate pairs split anywhere, add up to the input",
    (n) => {
      const input = 'a"b\\c\nd\t\u00e9 😀 \u2028 end';
      const args = JSON.stringify({ input }).replace("😀", "\\ud83d\\ude00");
      let so = "";
      let written = "";
      for (let i = 0; i < args.length; i += n) {
        so += args.slice(i, i + n);
        const now = inputSoFar(so) ?? "";
        expect(now.startsWith(written)).toBe(true);
        // Never a lone high surrogate at the end.
        expect(/[\ud800-\udbff]$/.test(now)).toBe(false);
        written = now;
      }
      expect(written).toBe(input);
      expect(inputSoFar('{"cmd": "x"}')).toBeUndefined();
    },
  );
});
