import { isObject } from "../../../http/body";
import type { UpstreamErrorFields } from "../../adapters/adapter";
import { anthropicTypeOf } from "../anthropic-error-types";
import type { FaceError } from "../bridge";
import { errorChunk } from "../chat-chunks";

/**
 * An Anthropic refusal for an OpenAI client (§6.5): its status, and Anthropic's error type kept
 * as the OpenAI envelope's `type` (`code` is null there: Anthropic has no codes), so a client
 * sees `invalid_request_error` or `request_too_large` and Anthropic's own message.
 */
export function chatErrorOf(status: number, fields: UpstreamErrorFields): FaceError {
  return {
    status,
    type: fields.type || anthropicTypeOf(status),
    message: fields.message || `The upstream refused the request (${status}).`,
  };
}

/**
 * Anthropic's mid-stream `error` event (`{"type":"error","error":{type,message}}`) as the
 * chunk OpenAI's SDKs raise as an APIError: `data: {"error": {message, type, param, code}}`.
 */
export function streamErrorChunk(event: unknown): string {
  const error = isObject(event) && isObject(event.error) ? event.error : {};
  return errorChunk(
    typeof error.message === "string" ? error.message : "The upstream reported an error.",
    typeof error.type === "string" ? error.type : "api_error",
    null,
  );
}
