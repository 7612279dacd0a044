/**
 * The Responses output items and response object a chat answer becomes, shared by the whole
 * answer (answer.ts) and the stream (stream.ts), so that both say the same thing (rule 6).
 */
import { randomBytes } from "node:crypto";
import type { BridgeContext } from "../bridge";
import { sealReasoning } from "./reasoning";
import { requestToolTable, type ToolName, type ToolTable, toolNamed } from "./tools";

type Fields = Record<string, unknown>;

export const isObject = (value: unknown): value is Fields =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** An id with OpenAI's prefix for its kind (`resp`, `msg`, `rs`, `fc`, `ctc`, `tsc`). */
export const newId = (prefix: string) => `${prefix}_${randomBytes(16).toString("hex")}`;

/** The response id: the face's when it minted one (rule 8), else a new one. */
export function responseIdOf(context: BridgeContext): string {
  return typeof context.responseId === "string" && context.responseId !== ""
    ? context.responseId
    : newId("resp");
}

/** The request's tool table, when the face passed the request (undefined names stay as sent). */
export function tableOf(context: BridgeContext): ToolTable | undefined {
  try {
    return context.request ? requestToolTable(context.request) : undefined;
  } catch {
    return undefined; // The request was refused already; nothing to restore.
  }
}

export function reasoningItem(id: string, text: string): Fields {
  return {
    id,
    type: "reasoning",
    summary: [{ type: "summary_text", text }],
    encrypted_content: sealReasoning(text),
  };
}

export function messageItem(id: string, text: string, status = "completed"): Fields {
  return {
    id,
    type: "message",
    role: "assistant",
    status,
    content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
  };
}

/** The `input` of a custom tool's call: the `input` string its chat arguments carry. */
export function customInputOf(args: string): string {
  try {
    const parsed: unknown = JSON.parse(args);
    if (isObject(parsed) && typeof parsed.input === "string") return parsed.input;
  } catch {
    // Not JSON: the model wrote the input itself.
  }
  return args;
}

function searchArgumentsOf(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

/** The id prefix of each call item's kind. */
export const CALL_PREFIX: Record<ToolName["kind"], string> = {
  function: "fc",
  custom: "ctc",
  tool_search: "tsc",
};

/** A chat tool call as the Responses item it stands for (rules 1, 2, 11). */
export function callItem(
  id: string,
  tool: ToolName,
  callId: string,
  args: string,
  status = "completed",
): Fields {
  const ns = tool.namespace ? { namespace: tool.namespace } : {};
  switch (tool.kind) {
    case "custom":
      return {
        id,
        type: "custom_tool_call",
        call_id: callId,
        name: tool.name,
        input: customInputOf(args),
        ...ns,
      };
    case "tool_search":
      return {
        id,
        type: "tool_search_call",
        call_id: callId,
        execution: "client",
        arguments: searchArgumentsOf(args),
        status,
      };
    default:
      return {
        id,
        type: "function_call",
        status,
        call_id: callId,
        name: tool.name,
        arguments: args,
        ...ns,
      };
  }
}

export { toolNamed };

/** Chat's finish_reason as the response's status and incomplete_details. */
export function statusOf(finish: unknown): { status: string; incomplete_details: Fields | null } {
  if (finish === "length")
    return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finish === "content_filter")
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

/** The response object around `output` (the fields Codex and the openai SDK read). */
export function responseObject(
  id: string,
  context: BridgeContext,
  created: number,
  fields: Fields,
): Fields {
  const request = context.request ?? {};
  return {
    id,
    object: "response",
    created_at: created,
    status: "in_progress",
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: context.model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: request.reasoning ?? null,
    // The face keeps it unless the client said store: false (responses/stored.ts).
    store: request.store !== false,
    temperature: request.temperature ?? null,
    text: request.text ?? { format: { type: "text" } },
    tool_choice: request.tool_choice ?? "auto",
    tools: request.tools ?? [],
    top_p: request.top_p ?? null,
    usage: null,
    metadata: request.metadata ?? {},
    ...fields,
  };
}
