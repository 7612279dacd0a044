import { randomBytes, randomInt } from "node:crypto";
import type { CacheUsage } from "./claude-cache";
import {
  blocksOf,
  type ClaudeRequest,
  type ClaudeTool,
  isObject,
  messagesOf,
  promptText,
  thinkingOn,
  toolsOf,
} from "./claude-request";
import type { ThinkingSigner } from "./claude-signature";
import { demoTokens } from "./common";
import type { Tokenizer } from "./tokenizer";

/**
 * What the Claude fixtures answer, scripted by keywords in the prompt (as
 * research/recorder.mjs does, so Claude Code can be driven through a tool turn):
 *
 * - the last message holds tool results → "tool done: <the first result>";
 * - `USE_BASH` (with a `Bash` tool offered) → a line of text, then a Bash tool_use;
 * - `PARALLEL` (with tools offered) → two tool_use blocks at once (Bash twice, or the first
 *   tool twice with inputs made from its schema);
 * - `THINK` (with thinking on) → a signed thinking block first, in any of the above;
 * - `please fail with NNN` → that HTTP error; `please fail mid-stream` → an `error` event
 *   after the first block starts; `please cut the stream` → the connection dropped after
 *   `message_start`;
 * - anything else → "This is sluice's demo upstream. You said: <prompt>".
 *
 * The answer then meets the request's limits as a model's would: cut at a stop sequence, or
 * at max_tokens (a tool_use that does not fit is not sent).
 */

export type AnswerBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string; shown: boolean }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

export interface ClaudeAnswer {
  blocks: AnswerBlock[];
  stopReason: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence";
  stopSequence: string | null;
  outputTokens: number;
  /** `please fail with NNN`. */
  failWith?: number;
  /** `please fail mid-stream` / `please cut the stream`. */
  streamFault?: "error" | "cut";
}

const THOUGHT = "The user wants me to think. I will think briefly, then answer.";

export function planAnswer(
  request: ClaudeRequest,
  signer: ThinkingSigner,
  tokenizer: Tokenizer,
): ClaudeAnswer {
  const prompt = promptText(request);
  const failWith = /please fail with (\d{3})/.exec(prompt)?.[1];
  const streamFault = prompt.includes("please fail mid-stream")
    ? "error"
    : prompt.includes("please cut the stream")
      ? "cut"
      : undefined;
  const tools = toolsOf(request);
  const bash = tools.find((tool) => tool.name === "Bash");
  const blocks: AnswerBlock[] = [];
  if (prompt.includes("THINK") && thinkingOn(request)) {
    blocks.push({
      type: "thinking",
      thinking: THOUGHT,
      signature: signer.sign(),
      // `display: "omitted"` (Claude Code's choice) sends the signature without the text.
      shown: request.thinking?.display !== "omitted",
    });
  }
  const result = lastToolResult(request);
  if (result !== undefined) {
    blocks.push({ type: "text", text: `tool done: ${result.trim().slice(0, 200)}` });
  } else if (prompt.includes("PARALLEL") && tools.length > 0) {
    blocks.push({ type: "text", text: "Running two tools at once." });
    const tool = bash ?? (tools[0] as ClaudeTool);
    for (const n of [1, 2]) {
      const input = bash
        ? { command: n === 1 ? "echo one" : "echo 'twó 😀'", description: `Echo ${n}` }
        : inputFor(tool, n);
      blocks.push({ type: "tool_use", id: toolId(), name: String(tool.name), input });
    }
  } else if (prompt.includes("USE_BASH") && bash) {
    blocks.push({ type: "text", text: "Running a command." });
    blocks.push({
      type: "tool_use",
      id: toolId(),
      name: "Bash",
      input: { command: "echo hello-from-tool", description: "Echo a greeting" },
    });
  } else {
    blocks.push({
      type: "text",
      text: `This is sluice's demo upstream. You said: ${prompt.slice(0, 200) || "…"}`,
    });
  }
  return {
    ...limit(blocks, request, tokenizer),
    ...(failWith !== undefined && { failWith: Number(failWith) }),
    ...(streamFault && { streamFault }),
  };
}

/** The text of the first tool_result, when the last message is a user turn that has one. */
function lastToolResult(request: ClaudeRequest): string | undefined {
  const last = messagesOf(request).at(-1);
  if (last?.role !== "user") return undefined;
  const result = blocksOf(last.content).find((block) => block.type === "tool_result");
  if (!result) return undefined;
  return blocksOf(result.content)
    .filter((block) => block.type === "text")
    .map((block) => String(block.text))
    .join("\n");
}

/** A plausible input for a tool: each property of its schema, filled by type. */
function inputFor(tool: ClaudeTool, n: number): Record<string, unknown> {
  const schema = isObject(tool.input_schema) ? tool.input_schema : {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  return Object.fromEntries(
    Object.entries(properties).map(([name, property]) => {
      const type = isObject(property) ? property.type : undefined;
      if (type === "number" || type === "integer") return [name, n];
      if (type === "boolean") return [name, true];
      if (type === "array") return [name, []];
      if (type === "object") return [name, {}];
      return [name, `${name} ${n}`];
    }),
  );
}

/** Cut at the first stop sequence in the text, or at max_tokens; count the output. */
function limit(
  blocks: AnswerBlock[],
  request: ClaudeRequest,
  tokenizer: Tokenizer,
): Pick<ClaudeAnswer, "blocks" | "stopReason" | "stopSequence" | "outputTokens"> {
  const stops = Array.isArray(request.stop_sequences)
    ? request.stop_sequences.filter((s): s is string => typeof s === "string" && s !== "")
    : [];
  let budget =
    typeof request.max_tokens === "number" ? request.max_tokens : Number.POSITIVE_INFINITY;
  const kept: AnswerBlock[] = [];
  let outputTokens = 0;
  for (const block of blocks) {
    if (block.type === "text") {
      const stop = stops
        .map((s) => ({ s, at: block.text.indexOf(s) }))
        .filter((found) => found.at >= 0)
        .sort((a, b) => a.at - b.at)[0];
      const text = stop ? block.text.slice(0, stop.at) : block.text;
      const tokens = tokenizer.count(text);
      if (tokens > budget) {
        kept.push({ type: "text", text: tokenizer.cut(text, budget) });
        return {
          blocks: kept,
          stopReason: "max_tokens",
          stopSequence: null,
          outputTokens: outputTokens + budget,
        };
      }
      if (text !== "") kept.push({ type: "text", text });
      outputTokens += tokens;
      budget -= tokens;
      if (stop)
        return { blocks: kept, stopReason: "stop_sequence", stopSequence: stop.s, outputTokens };
      continue;
    }
    const text = block.type === "thinking" ? block.thinking : JSON.stringify(block.input);
    const tokens = tokenizer.count(text);
    if (tokens > budget) {
      if (block.type === "thinking") {
        kept.push({ ...block, thinking: tokenizer.cut(text, budget) });
      }
      return {
        blocks: kept,
        stopReason: "max_tokens",
        stopSequence: null,
        outputTokens: outputTokens + budget,
      };
    }
    kept.push(block);
    outputTokens += tokens;
    budget -= tokens;
  }
  const stopReason = kept.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn";
  return { blocks: kept, stopReason, stopSequence: null, outputTokens };
}

/** Anthropic's usage object: input_tokens excludes what was read from or written to the cache. */
export function claudeUsage(input: CacheUsage, outputTokens: number) {
  return {
    input_tokens: input.uncached,
    cache_creation_input_tokens: input.write5m + input.write1h,
    cache_read_input_tokens: input.read,
    cache_creation: {
      ephemeral_5m_input_tokens: input.write5m,
      ephemeral_1h_input_tokens: input.write1h,
    },
    output_tokens: outputTokens,
    service_tier: "standard",
  };
}

/** The whole Message, as a non-streamed call returns it. */
export function claudeMessage(id: string, model: string, answer: ClaudeAnswer, input: CacheUsage) {
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content: answer.blocks.map(contentBlock),
    stop_reason: answer.stopReason,
    stop_sequence: answer.stopSequence,
    usage: claudeUsage(input, answer.outputTokens),
  };
}

function contentBlock(block: AnswerBlock) {
  if (block.type !== "thinking") return block;
  return {
    type: "thinking",
    thinking: block.shown ? block.thinking : "",
    signature: block.signature,
  };
}

export interface ClaudeEvent {
  type: string;
  [field: string]: unknown;
}

/**
 * The stream Anthropic sends for the answer: message_start (with the input usage), a ping,
 * each block as content_block_start, its deltas (text in word pieces, thinking then one
 * signature_delta, tool input as input_json_delta fragments split at random places), and
 * content_block_stop, another ping between blocks, then message_delta with the cumulative
 * usage, and message_stop.
 */
export function claudeEvents(
  id: string,
  model: string,
  answer: ClaudeAnswer,
  input: CacheUsage,
): ClaudeEvent[] {
  const usage = claudeUsage(input, answer.outputTokens);
  const events: ClaudeEvent[] = [
    {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    },
    { type: "ping" },
  ];
  answer.blocks.forEach((block, index) => {
    if (index > 0) events.push({ type: "ping" });
    const delta = (delta: Record<string, unknown>) =>
      events.push({ type: "content_block_delta", index, delta });
    if (block.type === "text") {
      events.push({
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      });
      for (const piece of wordPieces(block.text)) delta({ type: "text_delta", text: piece });
    } else if (block.type === "thinking") {
      events.push({
        type: "content_block_start",
        index,
        content_block: { type: "thinking", thinking: "", signature: "" },
      });
      if (block.shown) {
        for (const piece of wordPieces(block.thinking))
          delta({ type: "thinking_delta", thinking: piece });
      }
      delta({ type: "signature_delta", signature: block.signature });
    } else {
      events.push({
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      for (const piece of randomSplit(JSON.stringify(block.input))) {
        delta({ type: "input_json_delta", partial_json: piece });
      }
    }
    events.push({ type: "content_block_stop", index });
  });
  const { cache_creation: _, service_tier: __, ...cumulative } = usage;
  events.push(
    {
      type: "message_delta",
      delta: { stop_reason: answer.stopReason, stop_sequence: answer.stopSequence },
      usage: cumulative,
    },
    { type: "message_stop" },
  );
  return events;
}

/** Text in pieces of one to three words, as a model streams it. */
function wordPieces(text: string): string[] {
  const words = demoTokens(text);
  const pieces: string[] = [];
  for (let i = 0; i < words.length; ) {
    const n = 1 + randomInt(3);
    pieces.push(words.slice(i, i + n).join(""));
    i += n;
  }
  return pieces;
}

/**
 * JSON text in fragments cut at random characters (never inside a surrogate pair): the first
 * often empty, as Anthropic's first input_json_delta is.
 */
function randomSplit(text: string): string[] {
  const chars = Array.from(text);
  const pieces: string[] = randomInt(2) === 0 ? [""] : [];
  for (let i = 0; i < chars.length; ) {
    const n = 1 + randomInt(Math.max(1, Math.ceil(chars.length / 3)));
    pieces.push(chars.slice(i, i + n).join(""));
    i += n;
  }
  return pieces;
}

/** Ids in Anthropic's form: `msg_01…`, `toolu_01…`, 22 base-62 characters after the prefix. */
export function claudeId(prefix: "msg" | "toolu" | "req" | "msg_bdrk"): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const tail = Array.from(randomBytes(22), (byte) => alphabet[byte % 62]).join("");
  return `${prefix}_01${tail}`;
}

function toolId(): string {
  return claudeId("toolu");
}
