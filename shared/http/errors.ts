import type { Message, MessageCode, MessageParams } from "../messages/codes";
import { msg } from "../messages/codes";
import { renderEn } from "../messages/render";

/**
 * Errors in OpenAI's envelope: {error: {message, type, param, code}}. Every field is always
 * present (null when empty) because SDKs read them by name. `code` is OpenAI's; the message's
 * own code and params (`messageCode`, `params`) are what one-api's envelope on /api carries.
 */
export class ApiError extends Error {
  readonly messageCode: MessageCode | null;
  readonly params: MessageParams[MessageCode] | Record<string, never>;

  constructor(
    readonly status: number,
    message: Message | string,
    readonly type: string = "invalid_request_error",
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof message === "string" ? message : renderEn(message));
    this.name = "ApiError";
    this.messageCode = typeof message === "string" ? null : message.code;
    this.params = typeof message === "string" ? {} : message.params;
  }

  toJSON() {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

export function badRequest(
  message: Message | string,
  param: string | null = null,
  code: string | null = null,
) {
  return new ApiError(400, message, "invalid_request_error", code, param);
}

export function notFound(message: Message | string, param: string | null = null) {
  return new ApiError(404, message, "invalid_request_error", null, param);
}

export function upstreamFailed(message: Message | string = msg("upstream_error")) {
  return new ApiError(502, message, "upstream_error", "upstream_error");
}

export function serverError(requestId: string) {
  return new ApiError(500, msg("server_error", { request_id: requestId }), "server_error");
}
