import { demoId, demoTokens, replyPieces, unixNow } from "./common";
import { type Call, jsonBody, sendError, sendJson } from "./http";
import { writeChunks } from "./stream";

/*
 * OpenAI's Responses API (POST /v1/responses), as its reference and streaming-events guide
 * document it: a Response object with `output` items (reasoning, message, function_call), and
 * with `stream: true` named SSE events (`event:` + `data:` carrying `type` and a
 * `sequence_number` counting from 0) that end with `response.completed` (or
 * `response.incomplete`) and no `[DONE]`. Responses are stored unless `store` is false, and
 * answer GET and DELETE /v1/responses/{id}, GET …/input_items (a cursor page: after, before,
 * limit 1-100 default 20, order desc by default) and POST …/cancel (400 unless the response
 * runs in the background: runInBackground). `previous_response_id` continues a
 * stored response: the earlier turns' input and output come before the new input (its
 * instructions do not), and an unknown one is OpenAI's 404.
 */

interface ResponsesRequest {
  model: string;
  input: unknown;
  instructions: string;
  tools: { type?: string; name?: string; parameters?: { properties?: Record<string, unknown> } }[];
  stream: boolean;
  store: boolean;
  max_output_tokens: number;
  reasoning: { effort?: string; summary?: string } | null;
  text: { format?: { type?: string; schema?: { properties?: Record<string, { type?: string }> } } };
  previous_response_id: string;
  background: boolean;
  include: string[];
  parallel_tool_calls: boolean;
}

type Item = Record<string, unknown>;

/** The text of an input item (a message's string or parts, a tool call or its output). */
function itemText(item: Item): string {
  if (typeof item.content === "string") return item.content;
  if (Array.isArray(item.content)) {
    return item.content
      .map((part: Item) => (typeof part?.text === "string" ? part.text : ""))
      .join(" ");
  }
  if (typeof item.output === "string") return item.output;
  if (typeof item.arguments === "string") return item.arguments;
  return "";
}

/**
 * The answer, by what the prompt asks: "please fail with NNN" fails; "use the tool" (with a
 * function tool given) calls the first function tool, each string parameter "sluice" ("use
 * every tool": each function tool, in parallel, unless `parallel_tool_calls` is false);
 * `USE_SHELL` (with Codex's `exec_command` tool given) runs `echo hello-from-tool` through it;
 * after a tool's output, that output is quoted; a `json_schema` format gets an object of its
 * properties; otherwise the last user message is echoed. A request with `reasoning`, or to an
 * o-series / gpt-5 model, reasons first (a reasoning item with a summary, and with
 * `encrypted_content` when `include` asks for `reasoning.encrypted_content`, as a `store: false`
 * client such as Codex does to send it back).
 */
/** The prompt's tokens, as the fixture counts them: the instructions' and the items' text. */
function promptTokens(request: { instructions?: string }, items: Item[]): string[] {
  return demoTokens([request.instructions ?? "", ...items.map(itemText)].join(" "));
}

/**
 * POST /v1/responses/input_tokens: the input tokens a response to this body would be billed,
 * as OpenAI answers it (`{"object": "response.input_tokens", "input_tokens": N}`): the same
 * count as the `usage.input_tokens` of POST /v1/responses. Nothing is generated.
 */
export function countInputTokens(call: Call): void {
  const request = jsonBody<ResponsesRequest>(call);
  const items: Item[] =
    typeof request.input === "string"
      ? [{ type: "message", role: "user", content: request.input }]
      : Array.isArray(request.input)
        ? request.input
        : [];
  const input_tokens = promptTokens(request, items).length + 3 * items.length;
  sendJson(call.res, 200, { object: "response.input_tokens", input_tokens });
}

export function createResponse(call: Call): void | Promise<void> {
  const { res, fault } = call;
  const request = jsonBody<ResponsesRequest>(call);
  if (typeof request.model !== "string" || request.model === "") {
    return sendError(
      res,
      400,
      "Missing required parameter: 'model'.",
      "missing_required_parameter",
      "model",
    );
  }
  const given: Item[] =
    typeof request.input === "string"
      ? [{ type: "message", role: "user", content: request.input }]
      : Array.isArray(request.input)
        ? request.input
        : [];
  if (given.length === 0) {
    return sendError(
      res,
      400,
      "Missing required parameter: 'input'.",
      "missing_required_parameter",
      "input",
    );
  }
  if (request.background === true && request.store === false) {
    return sendError(res, 400, "Background mode requires `store` to be true.", null, "background");
  }
  const previous = request.previous_response_id;
  if (previous !== undefined && previous !== null && !call.providers.responses.has(previous)) {
    return sendError(
      res,
      404,
      `Previous response with id '${previous}' not found.`,
      null,
      "previous_response_id",
    );
  }
  const items = [...history(call, previous ?? null), ...given];
  const model = request.model;
  const lastUser = itemText(items.findLast((i) => i.role === "user") ?? {});
  const firstUser = itemText(items.find((i) => i.role === "user") ?? {});
  const asked = /^please fail with (\d{3})$/.exec(lastUser);
  if (asked) return sendError(res, Number(asked[1]), `Failed on request (${asked[1]}).`);

  const tokens = promptTokens(request, items);
  const inputTokens = tokens.length + 3 * items.length;
  const cached = call.cache.cachedTokens(`responses/${model}`, tokens);

  // A tool's output answers only the turn it came in (not a later user message's).
  const toolOutput = items
    .slice(items.findLastIndex((i) => i.role === "user") + 1)
    .findLast((i) => i.type === "function_call_output");
  const shell = lastUser.includes("USE_SHELL")
    ? request.tools?.find((t) => t.type === "function" && t.name === "exec_command")
    : undefined;
  const tool = shell ?? request.tools?.find((t) => t.type === "function");
  const format = request.text?.format;
  const outputs: Item[] = [];
  const reasons = request.reasoning != null || /^(o\d|gpt-5)/.test(model);
  let reasoningTokens = 0;
  if (reasons) {
    const summary = `Thinking about: ${lastUser}`;
    reasoningTokens = demoTokens(summary).length;
    outputs.push({
      id: demoId("rs"),
      type: "reasoning",
      summary: [{ type: "summary_text", text: summary }],
      ...(request.include?.includes("reasoning.encrypted_content") && {
        encrypted_content: Buffer.from(`demo-reasoning:${summary}`).toString("base64"),
      }),
    });
  }
  let status: "completed" | "incomplete" = "completed";
  let outputTokens = reasoningTokens;
  // "use every tool" calls each function tool at once (parallel calls), unless they are off.
  const every = lastUser.includes("use every tool") && request.parallel_tool_calls !== false;
  const called = every
    ? (request.tools ?? []).filter((t) => t.type === "function")
    : tool && (shell || lastUser.includes("use the tool") || lastUser.includes("use every tool"))
      ? [tool]
      : [];
  if (called.length > 0 && !toolOutput) {
    // Ids with the call's place: demoId repeats within a millisecond, OpenAI's never do.
    for (const [i, fn] of called.entries()) {
      const args =
        shell && fn === tool
          ? { cmd: "echo hello-from-tool" }
          : Object.fromEntries(
              Object.keys(fn.parameters?.properties ?? {}).map((name) => [name, "sluice"]),
            );
      const argumentsText = JSON.stringify(args);
      outputTokens += demoTokens(argumentsText).length + 1;
      outputs.push({
        id: `${demoId("fc")}-${i}`,
        type: "function_call",
        status: "completed",
        call_id: `${demoId("call")}-${i}`,
        name: fn.name,
        arguments: argumentsText,
      });
    }
  } else {
    const reply =
      fault.reply ??
      (toolOutput
        ? `The tool said: ${itemText(toolOutput)}`
        : format?.type === "json_schema"
          ? JSON.stringify(schemaAnswer(format.schema?.properties ?? {}, lastUser))
          : lastUser === "what did I say first?"
            ? `You first said: ${firstUser}`
            : `This is sluice's demo upstream. You said: ${lastUser}`);
    const room =
      request.max_output_tokens === undefined
        ? undefined
        : Math.max(0, request.max_output_tokens - outputTokens);
    const { pieces, finishReason } = replyPieces(reply, room);
    if (finishReason === "length") status = "incomplete";
    outputTokens += pieces.length;
    outputs.push({
      id: demoId("msg"),
      type: "message",
      status: status === "completed" ? "completed" : "incomplete",
      role: "assistant",
      content: [{ type: "output_text", text: pieces.join(""), annotations: [], logprobs: [] }],
      pieces,
    });
  }
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: inputTokens + outputTokens,
  };
  const response = {
    id: demoId("resp"),
    object: "response",
    created_at: unixNow(),
    status,
    error: null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model,
    output: outputs.map(({ pieces: _pieces, ...item }) => item),
    parallel_tool_calls: true,
    previous_response_id: request.previous_response_id ?? null,
    background: request.background === true,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: null },
    store: request.store !== false,
    temperature: 1,
    text: request.text ?? { format: { type: "text" } },
    tool_choice: "auto",
    tools: request.tools ?? [],
    top_p: 1,
    truncation: "disabled",
    usage: fault.omitUsage ? null : usage,
    user: null,
    metadata: {},
  };
  if (response.store) {
    const input = given.map((item) => ({
      id: demoId(item.type === "message" || !item.type ? "msg" : "item"),
      ...item,
    }));
    call.providers.responses.set(response.id, { response, input, previous: previous ?? null });
  }
  if (request.background === true)
    return runInBackground(call, response, outputs, request.stream === true);
  if (!request.stream) return sendJson(res, 200, response);
  return streamResponse(call, response, outputs);
}

/**
 * `background: true`: the response is queued and generated whether or not anyone waits. Plain,
 * the queued Response is the answer; streamed, the events begin `queued`. Either way the stored
 * response reads queued until it is done (each piece taking the fault's `chunkDelayMs`), then
 * the whole Response; a cancel before then makes it `cancelled`.
 */
function runInBackground(
  call: Call,
  response: Record<string, unknown> & { status: string; id: string },
  outputs: Item[],
  streamed: boolean,
): void | Promise<void> {
  const stored = call.providers.responses.get(response.id);
  const queued = { ...response, status: "queued", output: [], usage: null };
  if (stored) stored.response = queued;
  const pieces = outputs.reduce((n, item) => n + ((item.pieces as unknown[]) ?? [1]).length, 0);
  setTimeout(
    () => {
      if (stored && stored.response.status === "queued") stored.response = response;
    },
    (call.fault.chunkDelayMs ?? 0) * (pieces + 4),
  ).unref();
  if (!streamed) return sendJson(call.res, 200, queued);
  return streamResponse(call, response, outputs, "queued");
}

/** A value per property of a json_schema: strings echo the prompt, numbers count its words. */
export function schemaAnswer(properties: Record<string, { type?: string }>, said: string) {
  const typed = (type: string | undefined) =>
    type === "number" || type === "integer"
      ? demoTokens(said).length
      : type === "boolean"
        ? true
        : type === "array"
          ? []
          : said;
  return Object.fromEntries(Object.entries(properties).map(([name, p]) => [name, typed(p.type)]));
}

/** The documented event sequence of `response`, one delta per reply piece. */
async function streamResponse(
  call: Call,
  response: Record<string, unknown> & { status: string },
  outputs: Item[],
  begins: "in_progress" | "queued" = "in_progress",
): Promise<void> {
  const events: Item[] = [];
  const inProgress = { ...response, status: "in_progress", output: [], usage: null };
  events.push({ type: "response.created", response: { ...inProgress, status: begins } });
  if (begins === "queued")
    events.push({ type: "response.queued", response: { ...inProgress, status: "queued" } });
  events.push({ type: "response.in_progress", response: inProgress });
  outputs.forEach(({ pieces, ...item }, output_index) => {
    const item_id = item.id;
    const added = { ...item, status: "in_progress" };
    if (item.type === "reasoning") {
      const [{ text }] = item.summary as [{ text: string }];
      events.push({
        type: "response.output_item.added",
        output_index,
        item: { ...item, summary: [] },
      });
      const part = { item_id, output_index, summary_index: 0 };
      events.push({
        type: "response.reasoning_summary_part.added",
        ...part,
        part: { type: "summary_text", text: "" },
      });
      for (const delta of demoTokens(text)) {
        events.push({ type: "response.reasoning_summary_text.delta", ...part, delta });
      }
      events.push({ type: "response.reasoning_summary_text.done", ...part, text });
      events.push({
        type: "response.reasoning_summary_part.done",
        ...part,
        part: { type: "summary_text", text },
      });
    } else if (item.type === "function_call") {
      events.push({
        type: "response.output_item.added",
        output_index,
        item: { ...added, arguments: "" },
      });
      const args = item.arguments as string;
      // Arguments come in pieces of a few characters, as OpenAI streams them.
      for (let at = 0; at < args.length; at += 8) {
        events.push({
          type: "response.function_call_arguments.delta",
          item_id,
          output_index,
          delta: args.slice(at, at + 8),
        });
      }
      events.push({
        type: "response.function_call_arguments.done",
        item_id,
        output_index,
        name: item.name,
        arguments: args,
      });
    } else {
      events.push({
        type: "response.output_item.added",
        output_index,
        item: { ...added, content: [] },
      });
      const part = { item_id, output_index, content_index: 0 };
      const empty = { type: "output_text", text: "", annotations: [], logprobs: [] };
      events.push({ type: "response.content_part.added", ...part, part: empty });
      for (const delta of pieces as string[]) {
        events.push({ type: "response.output_text.delta", ...part, delta, logprobs: [] });
      }
      const [content] = item.content as [Item];
      events.push({ type: "response.output_text.done", ...part, text: content.text, logprobs: [] });
      events.push({ type: "response.content_part.done", ...part, part: content });
    }
    events.push({ type: "response.output_item.done", output_index, item });
  });
  const final = response.status === "incomplete" ? "response.incomplete" : "response.completed";
  events.push({ type: final, response });
  const { res } = call;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
  });
  const chunks = events.map(
    (event, sequence_number) =>
      `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number })}\n\n`,
  );
  if (await writeChunks(res, chunks, call.fault, call.state)) res.end();
}

/** The items a stored response's chain gave the model: each turn's input, then its output. */
function history(call: Call, id: string | null): Item[] {
  const turns: Item[][] = [];
  for (let at = id; at; ) {
    const stored = call.providers.responses.get(at);
    if (!stored) break;
    turns.unshift([...stored.input, ...(stored.response.output as Item[])]);
    at = stored.previous;
  }
  return turns.flat();
}

const STORED = /^\/v1\/responses\/([^/]+)(\/input_items|\/cancel)?$/;

/**
 * GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items, POST
 * /v1/responses/{id}/cancel: a stored response, or OpenAI's 404.
 */
export function storedResponseRoute(method: string, pathname: string) {
  const [, id, sub] = STORED.exec(pathname) ?? [];
  if (!id) return undefined;
  const allowed = sub === "/input_items" ? "GET" : sub === "/cancel" ? "POST" : method;
  if (method !== allowed || (!sub && method !== "GET" && method !== "DELETE")) return undefined;
  return (call: Call) => {
    const stored = call.providers.responses.get(id);
    if (!stored) {
      return sendError(call.res, 404, `Response with id '${id}' not found.`, null, "response_id");
    }
    if (sub === "/input_items")
      return sendJson(call.res, 200, inputItemsPage(stored.input, call.url));
    if (sub === "/cancel") {
      if (stored.response.background !== true) {
        return sendError(
          call.res,
          400,
          "Cannot cancel a response that was not created with background=true.",
          null,
          "response_id",
        );
      }
      if (stored.response.status === "queued" || stored.response.status === "in_progress")
        stored.response = { ...stored.response, status: "cancelled" };
      return sendJson(call.res, 200, stored.response);
    }
    if (method === "GET") return sendJson(call.res, 200, stored.response);
    call.providers.responses.delete(id);
    sendJson(call.res, 200, { id, object: "response", deleted: true });
  };
}

/** A cursor page of input items, as OpenAI lists them. */
function inputItemsPage(input: Item[], url: URL) {
  const query = url.searchParams;
  const limit = Number(query.get("limit") ?? 20);
  const items = query.get("order") === "asc" ? input : [...input].reverse();
  const after = query.get("after");
  const before = query.get("before");
  const start = after ? items.findIndex((item) => item.id === after) + 1 : 0;
  const beforeAt = before ? items.findIndex((item) => item.id === before) : -1;
  const window = items.slice(start, before ? Math.max(start, beforeAt) : items.length);
  // `before` asks for the previous page: the items just before it.
  const data = before && !after ? window.slice(-limit) : window.slice(0, limit);
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: window.length > data.length,
  };
}
