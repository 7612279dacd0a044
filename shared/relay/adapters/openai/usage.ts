import type { Metered } from "../../../billing/metered";
import { fromChatUsage } from "../../../billing/usage/openai-chat";
import { fromResponsesEvent } from "../../../billing/usage/openai-responses";
import { isObject } from "../../../http/body";
import type { Protocol } from "../../protocol";
import type { StreamUsage, UsageReader } from "../adapter";

/** Token usage as OpenAI reports it (`CompletionUsage`). */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [detail: string]: unknown;
}

/** Whether `value` is a CompletionUsage: what a chat stream's usage chunk carries. */
export function isUsage(value: unknown): value is Usage {
  if (!value || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return typeof v.prompt_tokens === "number" && typeof v.completion_tokens === "number";
}

/**
 * A CompletionUsage: the answer's `usage`, and in a stream the last chunk's that carries one
 * (`stream_options.include_usage`: a chunk with no choices before `[DONE]`).
 */
const completionUsage: UsageReader = {
  answer: (body) => fromChatUsage(isObject(body) ? body.usage : undefined),
  stream(): StreamUsage {
    let last: Usage | undefined;
    return {
      read(event) {
        if (isObject(event) && isUsage(event.usage)) last = event.usage;
      },
      metered: () => fromChatUsage(last),
    };
  },
};

/**
 * A ResponseUsage: the Response's `usage`, and in a stream the final event's (response.completed,
 * response.incomplete or response.failed carry the whole Response, usage included).
 */
const responseUsage: UsageReader = {
  answer: (body) => fromResponsesEvent(body),
  stream(): StreamUsage {
    let last: Metered | undefined;
    return {
      read(event) {
        last = fromResponsesEvent(event) ?? last;
      },
      metered: () => last,
    };
  },
};

/**
 * The usage readers of OpenAI's protocols, for the channels that answer as OpenAI does: chat,
 * legacy completions and embeddings report a CompletionUsage, the Responses API a ResponseUsage.
 */
export function openAiUsage(protocol: Protocol): UsageReader | undefined {
  if (protocol === "responses") return responseUsage;
  return protocol === "chat" || protocol === "completion" || protocol === "embedding"
    ? completionUsage
    : undefined;
}
