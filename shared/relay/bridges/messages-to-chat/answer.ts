/**
 * A whole chat completion as an Anthropic Message (DESIGN-20 §2.6, §6.2 for the blocks and §6.3
 * for the stop reason): the reasoning as a thinking block signed by sluice, the text (never an
 * empty or whitespace-only block, rule 14), the tool calls with Anthropic-valid ids (rule 13).
 */
import { mintSignature } from "../signatures";
import { anthropicToolId } from "../tool-ids";
import { anthropicUsageOf, meteredOfChatUsage } from "./usage";

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * The stop string a host says it matched: vLLM and SGLang put it in the choice's `stop_reason`
 * (a token id there, when a stop token matched, is not a stop sequence).
 */
export function matchedStopOf(choice: Fields): string | null {
  return typeof choice.stop_reason === "string" && choice.stop_reason !== ""
    ? choice.stop_reason
    : null;
}

/**
 * Chat's finish_reason as Anthropic's stop_reason (§6.3): a matched stop sequence is
 * `stop_sequence`, not `end_turn` (vllm-project/vllm PR #45807).
 */
export function stopReasonOf(
  finish: unknown,
  sawToolCall: boolean,
  matchedStop: string | null = null,
): string {
  switch (finish) {
    case "stop":
      return matchedStop === null ? "end_turn" : "stop_sequence";
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      // Absent or unknown: what the answer itself shows (rule 11).
      return sawToolCall ? "tool_use" : "end_turn";
  }
}

/** The text a host gave as reasoning (`reasoning_content`, or `reasoning` on some). */
export function reasoningOf(fields: Fields): string {
  const value = fields.reasoning_content ?? fields.reasoning;
  return typeof value === "string" ? value : "";
}

/**
 * A chat stream chunk's usage: in its own chunk (`include_usage`), or inside the finishing
 * choice (Moonshot's way).
 */
export function chunkUsageOf(chunk: Fields, choice: Fields | undefined): Fields | undefined {
  if (isObject(chunk.usage)) return chunk.usage;
  return isObject(choice?.usage) ? choice.usage : undefined;
}

/** A tool call's arguments as its input object ({} when absent or not a JSON object). */
function inputOf(args: unknown): Fields {
  if (isObject(args)) return args;
  if (typeof args !== "string" || args.trim() === "") return {};
  try {
    const parsed: unknown = JSON.parse(args);
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

export function messageOfCompletion(body: Fields, model: string): Fields {
  const choice = Array.isArray(body.choices) && isObject(body.choices[0]) ? body.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const content: Fields[] = [];
  const thinking = reasoningOf(message);
  if (thinking !== "")
    content.push({ type: "thinking", thinking, signature: mintSignature(thinking) });
  if (typeof message.content === "string" && message.content.trim() !== "")
    content.push({ type: "text", text: message.content });
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls.filter(isObject) : [];
  for (const call of calls) {
    const fn = isObject(call.function) ? call.function : {};
    content.push({
      type: "tool_use",
      id: anthropicToolId(call.id),
      name: String(fn.name ?? ""),
      input: inputOf(fn.arguments),
    });
  }
  return {
    id: `msg_${typeof body.id === "string" && body.id ? body.id : Date.now().toString(36)}`,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReasonOf(choice.finish_reason, calls.length > 0, matchedStopOf(choice)),
    stop_sequence: choice.finish_reason === "stop" ? matchedStopOf(choice) : null,
    usage: anthropicUsageOf(meteredOfChatUsage(body.usage)),
  };
}
