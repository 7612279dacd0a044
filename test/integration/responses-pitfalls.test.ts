/**
 * The pitfalls peers' Responses → chat converters fall into with Codex (design brief §10.2,
 * issue 21), each played end to end: a Codex-shaped request (developer messages, `function`,
 * `custom` apply_patch, `namespace` and client `tool_search` tools, a hosted `web_search`) sent
 * to sluice, bridged to a chat-only channel on the demo upstream's DeepSeek API, with a
 * recording proxy between sluice and the fixture that keeps the chat stream as it went over
 * the wire (random-sized argument fragments, two calls' fragments interleaved). Each test holds
 * the recorded upstream stream against the exact event sequence the client received.
 *
 * The upstream streams are the DeepSeek fixture's (infra/local/demo-upstream/deepseek.ts, which
 * follows DeepSeek's docs), recorded as they pass; no real DeepSeek capture is used.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import { type Recorded, type RecordingProxy, recordingProxy } from "../fixtures/recording-proxy";
import { uniqueModel } from "../fixtures/upstream";
import { admin, createUserWithKey, type Json, setPrices, sluice, TEST_PRICE } from "./support";

const KEY = "sk-deepseek-pitfalls-5d1e";
const MODEL = uniqueModel("gpt-5-codex-pitfalls");
const DEEPSEEK = uniqueModel("deepseek-v4-flash");

let upstream: DemoUpstream;
let wire: RecordingProxy;
let user: Awaited<ReturnType<typeof createUserWithKey>>;

beforeAll(async () => {
  upstream = await startDemoUpstream({ apiKey: KEY, deepseekModels: [DEEPSEEK] });
  wire = await recordingProxy(upstream.origin);
  await admin("POST", "/api/channel", {
    type: "openai",
    name: "deepseek fixture behind a recorder, responses bridged",
    base_url: `${wire.url}/deepseek`,
    key: KEY,
    models: [MODEL],
    model_mapping: { [MODEL]: DEEPSEEK },
    config: { responses: "bridge" },
  });
  await setPrices({ [MODEL]: TEST_PRICE });
  user = await createUserWithKey();
});

afterAll(async () => {
  await wire?.close();
  await upstream?.close();
});

/** Codex's tools, as Codex 0.171 and its catalog models send them. */
const EXEC_COMMAND = {
  type: "function",
  name: "exec_command",
  description: "Runs a command in a PTY.",
  strict: false,
  parameters: { type: "object", properties: { cmd: { type: "string" } }, required: ["cmd"] },
};
const APPLY_PATCH = {
  type: "custom",
  name: "apply_patch",
  description: "Use the `apply_patch` tool to edit files.",
  format: {
    type: "grammar",
    syntax: "lark",
    definition: 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF',
  },
};
const GITHUB = {
  type: "namespace",
  name: "mcp__github",
  description: "GitHub's MCP server.",
  tools: [
    {
      type: "function",
      name: "create_issue",
      strict: false,
      parameters: { type: "object", properties: { title: { type: "string" } } },
    },
  ],
};
const TOOL_SEARCH = { type: "tool_search", execution: "client", description: "Finds more tools." };
const TOOLS = [EXEC_COMMAND, APPLY_PATCH, GITHUB, TOOL_SEARCH, { type: "web_search" }];

const developer = (text: string) => ({
  type: "message",
  role: "developer",
  content: [{ type: "input_text", text }],
});
const userSays = (text: string) => ({
  type: "message",
  role: "user",
  content: [{ type: "input_text", text }],
});
/** Codex's opening: its developer messages, then the user's environment and prompt. */
const opening = (prompt: string) => [
  developer("You are a coding agent running in the Codex CLI."),
  developer("<permissions instructions>Commands run unsandboxed.</permissions instructions>"),
  userSays("<environment_context><cwd>/work</cwd></environment_context>"),
  userSays(prompt),
];

interface Played {
  /** The client's events, in order. */
  events: Json[];
  /** The exchange with the DeepSeek fixture, recorded on the wire. */
  upstream: Recorded;
  /** The chat request sluice sent. */
  sent: Json;
  /** The chat stream's chunks as the fixture sent them (`[DONE]` left out). */
  chunks: Json[];
}

/** A Codex-shaped streamed request through sluice, and the chat exchange it became. */
async function play(input: unknown[]): Promise<Played> {
  const before = wire.requests.length;
  const response = await fetch(`${sluice.url}/v1/responses`, {
    method: "POST",
    headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: MODEL,
      input,
      tools: TOOLS,
      tool_choice: "auto",
      parallel_tool_calls: true,
      reasoning: { summary: "auto" },
      store: false,
      stream: true,
      include: ["reasoning.encrypted_content"],
    }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("x-sluice-tools-omitted")).toBe("web_search");
  const text = await response.text();
  const events = text
    .split("\n\n")
    .filter((block) => block !== "")
    .map((block) => {
      const [event, data] = block.split("\n");
      const parsed = JSON.parse((data as string).slice("data: ".length));
      expect(event).toBe(`event: ${parsed.type}`);
      return parsed;
    });
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  expect(wire.requests).toHaveLength(before + 1);
  const upstreamExchange = wire.requests[before] as Recorded;
  const chunks = upstreamExchange.answer
    .split("\n\n")
    .map((block) => block.trim())
    .filter((block) => block.startsWith("data: ") && block !== "data: [DONE]")
    .map((block) => JSON.parse(block.slice(6)));
  return {
    events,
    upstream: upstreamExchange,
    sent: JSON.parse(upstreamExchange.raw.toString("utf8")),
    chunks,
  };
}

/** The event types in order, a run of the same delta event as one. */
function shape(events: Json[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.type.endsWith(".delta") && out.at(-1) === `${e.type}+`) continue;
    out.push(e.type.endsWith(".delta") ? `${e.type}+` : e.type);
  }
  return out;
}

const REASONING_EVENTS = [
  "response.output_item.added",
  "response.reasoning_summary_part.added",
  "response.reasoning_summary_text.delta+",
  "response.reasoning_summary_text.done",
  "response.reasoning_summary_part.done",
  "response.output_item.done",
];
const START = ["response.created", "response.in_progress"];

/** The recorded chat stream's tool-call fragments: [index, piece] in wire order. */
const fragments = (chunks: Json[]) =>
  chunks.flatMap((c) =>
    (c.choices[0]?.delta?.tool_calls ?? []).map((t: Json) => [t.index, t.function?.arguments]),
  );

/** The final response the client was given. */
const finalOf = (events: Json[]) => events.at(-1)?.response;

describe("Codex's pitfalls through the Responses → chat bridge, on recorded DeepSeek streams", () => {
  it("the developer role: Codex's developer messages reach DeepSeek as one leading system message", async () => {
    const { events, sent } = await play(opening("Say hello"));
    const roles = (sent.messages as Json[]).map((m) => m.role);
    expect(roles).not.toContain("developer");
    expect(roles[0]).toBe("system");
    expect(sent.messages[0].content).toContain("You are a coding agent running in the Codex CLI.");
    expect(sent.messages[0].content).toContain("Commands run unsandboxed.");
    expect(roles.filter((r) => r === "system")).toHaveLength(1);
    expect(shape(events)).toEqual([
      ...START,
      ...REASONING_EVENTS,
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta+",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.find((e) => e.type === "response.output_text.done").text).toBe(
      "This is sluice's demo upstream. You said: Say hello",
    );
  });

  it("a custom tool (apply_patch): a chat function call streamed in fragments comes out as custom_tool_call_input events and a custom_tool_call; its output and the reasoning go back on the next turn", async () => {
    const patch = '*** Begin Patch\n*** Add File: hello.txt\n+héllo "wörld" 😀\n*** End Patch';
    const input = opening(`CALL apply_patch: ${patch}`);
    const { events, sent, chunks } = await play(input);
    // On the wire: a function named apply_patch, its JSON arguments in several fragments.
    const tool = (sent.tools as Json[]).find((t) => t.function.name === "apply_patch");
    expect(tool.function.parameters.properties.input.type).toBe("string");
    expect(fragments(chunks).length).toBeGreaterThan(3);
    expect(shape(events)).toEqual([
      ...START,
      ...REASONING_EVENTS,
      "response.output_item.added",
      "response.custom_tool_call_input.delta+",
      "response.custom_tool_call_input.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const deltas = events.filter((e) => e.type === "response.custom_tool_call_input.delta");
    expect(deltas.map((e) => e.delta).join("")).toBe(patch);
    const output = finalOf(events).output as Json[];
    const [reasoning, call] = output;
    expect(call).toMatchObject({ type: "custom_tool_call", name: "apply_patch", input: patch });
    expect(reasoning.type).toBe("reasoning");
    expect(typeof reasoning.encrypted_content).toBe("string");

    // Codex's next turn: the whole history again, the reasoning and call echoed, the output.
    const next = await play([
      ...input,
      ...output,
      {
        type: "custom_tool_call_output",
        call_id: call.call_id,
        output: "Success. Updated: hello.txt",
      },
    ]);
    const messages = next.sent.messages as Json[];
    const assistant = messages.find((m) => m.role === "assistant");
    expect(assistant.reasoning_content).toBe(reasoning.summary[0].text);
    expect(assistant.tool_calls).toEqual([
      {
        id: call.call_id,
        type: "function",
        function: { name: "apply_patch", arguments: JSON.stringify({ input: patch }) },
      },
    ]);
    expect(messages.at(-1)).toEqual({
      role: "tool",
      tool_call_id: call.call_id,
      content: "Success. Updated: hello.txt",
    });
    expect(next.events.find((e) => e.type === "response.output_text.done").text).toBe(
      "tool done: Success. Updated: hello.txt",
    );
  });

  it("a namespace tool: flattened to mcp__github__create_issue on the wire, restored with its namespace", async () => {
    const { events, sent } = await play(
      opening("CALL mcp__github__create_issue: the build is red"),
    );
    const names = (sent.tools as Json[]).map((t) => t.function.name);
    expect(names).toEqual([
      "exec_command",
      "apply_patch",
      "mcp__github__create_issue",
      "tool_search",
    ]);
    expect(shape(events)).toEqual([
      ...START,
      ...REASONING_EVENTS,
      "response.output_item.added",
      "response.function_call_arguments.delta+",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const call = (finalOf(events).output as Json[])[1];
    expect(call).toMatchObject({
      type: "function_call",
      name: "create_issue",
      namespace: "mcp__github",
      arguments: JSON.stringify({ title: "the build is red" }),
    });
    const added = events.filter((e) => e.type === "response.output_item.added")[1];
    expect(added.item).toMatchObject({ name: "create_issue", namespace: "mcp__github" });
  });

  it("tool_search run by the client: a chat function call comes out as a tool_search_call with its arguments", async () => {
    const { events, sent } = await play(opening("CALL tool_search: calendar tools"));
    expect((sent.tools as Json[]).find((t) => t.function.name === "tool_search")).toBeTruthy();
    const call = (finalOf(events).output as Json[])[1];
    expect(call).toMatchObject({
      type: "tool_search_call",
      execution: "client",
      arguments: { query: "calendar tools" },
    });
    expect(events.some((e) => String(e.type).includes("function_call_arguments"))).toBe(false);
    const done = events.filter((e) => e.type === "response.output_item.done").at(-1);
    expect(done.item).toMatchObject({
      type: "tool_search_call",
      arguments: { query: "calendar tools" },
    });
  });

  it("parallel calls: two calls whose fragments interleave on the wire come out on distinct output indexes, each with its own arguments", async () => {
    const { events, chunks } = await play(opening("PARALLEL please"));
    // The recorded stream really did interleave the two calls' argument fragments.
    const wireOrder = fragments(chunks)
      .filter(([, piece]) => piece)
      .map(([index]) => index);
    expect(wireOrder.indexOf(1)).toBeLessThan(wireOrder.lastIndexOf(0));
    const calls = (finalOf(events).output as Json[]).filter((i) => i.type === "function_call");
    expect(calls.map((c) => JSON.parse(c.arguments))).toEqual([
      { cmd: "echo one" },
      { cmd: "echo 'twó 😀'" },
    ]);
    expect(new Set(calls.map((c) => c.call_id)).size).toBe(2);
    for (const [n, call] of calls.entries()) {
      const at = events.find(
        (e) => e.type === "response.output_item.added" && e.item.id === call.id,
      ).output_index;
      expect(at).toBe(n + 1);
      const own = events.filter(
        (e) => e.type === "response.function_call_arguments.delta" && e.output_index === at,
      );
      expect(own.every((e) => e.item_id === call.id)).toBe(true);
      expect(own.map((e) => e.delta).join("")).toBe(call.arguments);
      const done = events.find(
        (e) => e.type === "response.function_call_arguments.done" && e.output_index === at,
      );
      expect(done.arguments).toBe(call.arguments);
    }
  });

  it("an input item chat cannot carry is refused 400 naming it, in OpenAI's envelope, never sent", async () => {
    const before = wire.requests.length;
    const items = [
      {
        type: "web_search_call",
        id: "ws_1",
        status: "completed",
        action: { type: "search", query: "x" },
      },
      { type: "image_generation_call", id: "ig_1", status: "completed", result: "" },
      // Codex's code mode (gpt-5.6 and gpt-6 ids) sends its tools as an input item.
      { type: "additional_tools", role: "developer", tools: [EXEC_COMMAND] },
    ];
    const answers = await Promise.all(
      items.map(async (item) => {
        const response = await fetch(`${sluice.url}/v1/responses`, {
          method: "POST",
          headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
          body: JSON.stringify({ model: MODEL, input: [...opening("hi"), item], stream: true }),
        });
        return { status: response.status, body: (await response.json()) as Json };
      }),
    );
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        type: "invalid_request_error",
        param: "input[4]",
        message: expect.stringContaining((items[i] as Json).type),
      });
    }
    expect(wire.requests).toHaveLength(before);
  });
});
