import { isObject, type JsonObject } from "../../../http/body";
import type { BridgeContext } from "../bridge";
import { answerUsage } from "./usage";

/** Messages' stop reasons as chat's finish reasons (§6.3); anything else ends as `stop`. */
const FINISH: Readonly<Record<string, string>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

export function finishReasonOf(stopReason: unknown, sawTool: boolean): string {
  if (typeof stopReason === "string" && Object.hasOwn(FINISH, stopReason)) {
    return FINISH[stopReason] as string;
  }
  return sawTool ? "tool_calls" : "stop";
}

/** A thinking or redacted_thinking block as the message's `thinking_blocks` entry. */
export function thinkingEntry(block: JsonObject): JsonObject | undefined {
  if (block.type === "thinking") {
    return {
      type: "thinking",
      thinking: typeof block.thinking === "string" ? block.thinking : "",
      signature: typeof block.signature === "string" ? block.signature : "",
    };
  }
  if (block.type === "redacted_thinking") return { type: "redacted_thinking", data: block.data };
  return undefined;
}

/**
 * A whole Message as a chat.completion: text joined as `content` (null without text), thinking
 * as `reasoning_content` and, signed, as `thinking_blocks` (rule 23: the client sends them back
 * on its next turn), tool_use blocks as `tool_calls` with their input as a JSON string.
 */
export function messageToChatAnswer(body: JsonObject, context: BridgeContext): JsonObject {
  const blocks = Array.isArray(body.content) ? body.content.filter(isObject) : [];
  let text = "";
  let sawText = false;
  let reasoning = "";
  const thinkingBlocks: JsonObject[] = [];
  const toolCalls: JsonObject[] = [];
  for (const block of blocks) {
    if (block.type === "text" && typeof block.text === "string") {
      text += block.text;
      sawText = true;
    } else if (block.type === "tool_use") {
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    } else {
      const entry = thinkingEntry(block);
      if (!entry) continue;
      if (typeof entry.thinking === "string") reasoning += entry.thinking;
      thinkingBlocks.push(entry);
    }
  }
  const message: JsonObject = {
    role: "assistant",
    content: sawText ? text : null,
    refusal: null,
    ...(reasoning !== "" && { reasoning_content: reasoning }),
    ...(thinkingBlocks.length > 0 && { thinking_blocks: thinkingBlocks }),
    ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
  };
  const usage = answerUsage(body.usage);
  return {
    id: typeof body.id === "string" ? body.id : "",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: context.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: finishReasonOf(body.stop_reason, toolCalls.length > 0),
      },
    ],
    ...(usage && { usage }),
  };
}
