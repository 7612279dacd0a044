import { isObject } from "../../../http/body";
import type { UpstreamErrorFields } from "../../adapters/adapter";
import type { FaceError } from "../bridge";
import { errorChunk } from "../chat-chunks";

/**
 * A Responses refusal for a chat client. Both are OpenAI's, in the same envelope: the status and
 * the error's type and message go on as they are (`param` and `code` name Responses fields, so
 * the chat face leaves them out, as it does for every bridged refusal).
 */
export function chatErrorOf(status: number, fields: UpstreamErrorFields): FaceError {
  return {
    status,
    type: fields.type || (status >= 500 ? "server_error" : "invalid_request_error"),
    message: fields.message || `The upstream refused the request (${status}).`,
  };
}

/**
 * A Responses stream's failure (`error` event: `{type:"error", code, message}`, or
 * `response.failed` with `response.error: {code, message}`) as the chunk OpenAI's SDKs raise
 * as an APIError: `data: {"error": {message, type, param, code}}`.
 */
export function streamErrorChunk(event: unknown): string {
  const e = isObject(event) ? event : {};
  const error = isObject(e.response) && isObject(e.response.error) ? e.response.error : e;
  return errorChunk(
    typeof error.message === "string" ? error.message : "The upstream reported an error.",
    "server_error",
    typeof error.code === "string" ? error.code : null,
  );
}
