/** Anthropic's error type for each status it documents (its errors page). */
const ANTHROPIC_TYPES: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const ANTHROPIC_TYPE_NAMES = new Set(Object.values(ANTHROPIC_TYPES));

/** The error type Anthropic gives a status: its own for those it documents, else by class. */
export function anthropicTypeOf(status: number): string {
  return ANTHROPIC_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

/** Whether `type` is one of Anthropic's error types. */
export function isAnthropicType(type: string | null | undefined): type is string {
  return typeof type === "string" && ANTHROPIC_TYPE_NAMES.has(type);
}
