import { UpstreamRejected } from "../../../errors";
import { isObject, type JsonObject } from "../../../http/body";
import type { BridgeContext } from "../bridge";
import { chatUsageOf } from "./usage";

/**
 * How a Response ended, as chat's finish_reason: `incomplete` for want of output tokens is
 * `length`, for the content filter `content_filter`; a complete answer that called a function
 * is `tool_calls`, else `stop`.
 */
export function finishReasonOf(status: unknown, incomplete: unknown, calledTools: boolean): string {
  if (status === "incomplete") {
    const reason = isObject(incomplete) ? incomplete.reason : undefined;
    if (reason === "content_filter") return "content_filter";
    return "length";
  }
  return calledTools ? "tool_calls" : "stop";
}

/**
 * The text of a reasoning item for `reasoning_content` (what the chat face shows of reasoning
 * from every bridge): its summary parts, else its raw `reasoning_text` content (open-weight
 * hosts send that; LiteLLM #40654 dropped it), parts separated by a blank line.
 */
export function reasoningTextOf(item: JsonObject): string {
  const parts = (list: unknown, type: string) =>
    Array.isArray(list)
      ? list.filter((p) => isObject(p) && p.type === type).map((p) => String(p.text ?? ""))
      : [];
  const summary = parts(item.summary, "summary_text");
  return (summary.length > 0 ? summary : parts(item.content, "reasoning_text")).join("\n\n");
}

/**
 * A whole Response as a chat.completion: message items' output_text joined as `content` (null
 * without text) and refusal parts as `refusal`, reasoning items as `reasoning_content`, and
 * function_call items as `tool_calls` (call_id as the id the tool message answers). Items chat
 * cannot express (built-in tool calls: the bridged request offers none, so they do not occur)
 * are left out; their tokens are in the usage and billed. A failed response is the upstream's
 * failure (502), not an answer.
 */
export function responseToChatAnswer(body: JsonObject, context: BridgeContext): JsonObject {
  if (body.status === "failed") {
    const error = isObject(body.error) ? body.error : {};
    throw new UpstreamRejected(
      "unreachable",
      typeof error.message === "string" ? error.message : "The upstream failed to answer.",
    );
  }
  const items = Array.isArray(body.output) ? body.output.filter(isObject) : [];
  let text = "";
  let sawText = false;
  let refusal = "";
  const reasoning: string[] = [];
  const toolCalls: JsonObject[] = [];
  for (const item of items) {
    if (item.type === "message" && Array.isArray(item.content)) {
      for (const part of item.content) {
        if (!isObject(part)) continue;
        if (part.type === "output_text" && typeof part.text === "string") {
          text += part.text;
          sawText = true;
        } else if (part.type === "refusal" && typeof part.refusal === "string") {
          refusal += part.refusal;
        }
      }
    } else if (item.type === "reasoning") {
      const said = reasoningTextOf(item);
      if (said !== "") reasoning.push(said);
    } else if (item.type === "function_call") {
      toolCalls.push({
        id: item.call_id,
        type: "function",
        function: { name: item.name, arguments: String(item.arguments ?? "") },
      });
    }
  }
  const message: JsonObject = {
    role: "assistant",
    content: sawText ? text : null,
    refusal: refusal === "" ? null : refusal,
    ...(reasoning.length > 0 && { reasoning_content: reasoning.join("\n\n") }),
    ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
  };
  const usage = chatUsageOf(body.usage);
  return {
    id: typeof body.id === "string" ? body.id : "",
    object: "chat.completion",
    created: typeof body.created_at === "number" ? body.created_at : Math.floor(Date.now() / 1000),
    model: context.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: finishReasonOf(body.status, body.incomplete_details, toolCalls.length > 0),
      },
    ],
    ...(usage && { usage }),
    ...(typeof body.service_tier === "string" && { service_tier: body.service_tier }),
  };
}
