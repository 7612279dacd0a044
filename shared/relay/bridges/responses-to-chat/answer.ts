/**
 * A whole chat completion as a Responses response: the reasoning as a sluice-sealed reasoning
 * item, the text as a message, each tool call as the item its tool is (function, custom,
 * tool_search; namespaced names restored).
 */
import type { BridgeContext } from "../bridge";
import { reasoningOf } from "../messages-to-chat/answer";
import {
  CALL_PREFIX,
  callItem,
  isObject,
  messageItem,
  newId,
  reasoningItem,
  responseIdOf,
  responseObject,
  statusOf,
  tableOf,
  toolNamed,
} from "./items";
import { meteredOfChatUsage, responsesUsageOf } from "./usage";

type Fields = Record<string, unknown>;

export function responseOfCompletion(body: Fields, context: BridgeContext): Fields {
  const choice = Array.isArray(body.choices) && isObject(body.choices[0]) ? body.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const table = tableOf(context);
  const output: Fields[] = [];
  const reasoning = reasoningOf(message);
  if (reasoning !== "") output.push(reasoningItem(newId("rs"), reasoning));
  if (typeof message.content === "string" && message.content !== "")
    output.push(messageItem(newId("msg"), message.content));
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls.filter(isObject) : [];
  for (const call of calls) {
    const fn = isObject(call.function) ? call.function : {};
    const tool = toolNamed(table, String(fn.name ?? ""));
    const args =
      typeof fn.arguments === "string" ? fn.arguments : JSON.stringify(fn.arguments ?? {});
    const callId = typeof call.id === "string" && call.id ? call.id : newId("call");
    output.push(callItem(newId(CALL_PREFIX[tool.kind]), tool, callId, args));
  }
  const created = typeof body.created === "number" ? body.created : Math.floor(Date.now() / 1000);
  return responseObject(responseIdOf(context), context, created, {
    ...statusOf(choice.finish_reason),
    output,
    usage: responsesUsageOf(meteredOfChatUsage(body.usage)),
  });
}
