/**
 * Errors in OpenAI's envelope: {error: {message, type, param, code}}. Every field is always
 * present (null when empty) because SDKs read them by name.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = "invalid_request_error",
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  toJSON() {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

export function badRequest(
  message: string,
  param: string | null = null,
  code: string | null = null,
) {
  return new ApiError(400, message, "invalid_request_error", code, param);
}

export function notFound(message: string, param: string | null = null) {
  return new ApiError(404, message, "invalid_request_error", null, param);
}

export function upstreamFailed(
  message = "The upstream provider could not be reached. Please try again later.",
) {
  return new ApiError(502, message, "upstream_error", "upstream_error");
}

export function serverError(requestId: string) {
  return new ApiError(
    500,
    `The server had an error while processing your request. Contact your sluice administrator with request ID ${requestId} if it keeps happening.`,
    "server_error",
  );
}
