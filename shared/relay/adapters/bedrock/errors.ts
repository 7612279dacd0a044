import type {
  HeaderGetter,
  UpstreamCall,
  UpstreamErrorFields,
  UpstreamErrorReading,
} from "../adapter";
import { parseRetryAfter } from "../retry-after";
import { FALLBACK_BETA } from "./betas";

/**
 * What a Bedrock error answer means. Bedrock names the exception in `x-amzn-ErrorType`
 * (`ThrottlingException:http://internal.amazon.com/coral/…`), and the status alone misleads:
 * ServiceQuotaExceededException is a 400, and a 400 ValidationException may say the channel
 * may not use the model at all (AWS "Troubleshooting Amazon Bedrock API Error Codes"). The
 * body is `{"message": …}` (`Message` from AWS's edge, for signature failures).
 */
export function readBedrockError(
  status: number,
  headers: HeaderGetter,
  text: string,
): UpstreamErrorReading {
  const type = headers.get("x-amzn-errortype")?.split(":")[0]?.trim() || undefined;
  const message = messageOf(text);
  const detail = `HTTP ${status}${type ? ` ${type}` : ""}${message ? `: ${message.slice(0, 200)}` : ""}`;
  const fields: UpstreamErrorFields = { message, code: type ?? null };
  const retryAfterMs = parseRetryAfter(headers.get("retry-after"));
  const limited = (extra: Partial<UpstreamErrorReading>): UpstreamErrorReading => ({
    kind: "rate_limited",
    retryable: true,
    outOfQuota: false,
    overloaded: false,
    retryAfterMs,
    detail,
    fields,
    ...extra,
  });
  const auth: UpstreamErrorReading = { kind: "auth", retryable: true, detail, fields };
  const failure: UpstreamErrorReading = { kind: "failure", retryable: false, detail, fields };

  switch (type) {
    case "ThrottlingException":
      return limited({});
    // Not processed: the model or the service is not ready to serve; another channel may be.
    case "ModelNotReadyException":
    case "ServiceUnavailableException":
      return limited({ overloaded: true });
    // Waiting will not help: the account's quota is spent (a 400, not the client's fault).
    case "ServiceQuotaExceededException":
      return limited({ outOfQuota: true });
    // The model may have worked on the request (and charges for it): never sent again.
    case "InternalServerException":
    case "ModelTimeoutException":
    case "ModelErrorException":
    case "ModelStreamErrorException":
      return failure;
    case "AccessDeniedException":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "IncompleteSignatureException":
    case "MissingAuthenticationTokenException":
    // The model is not in this region or account: no request to it from this channel works.
    case "ResourceNotFoundException":
      return auth;
    case "ValidationException":
      return validation(detail, message);
  }
  if (status === 401 || status === 403) return auth;
  if (status === 429) return limited({});
  if (status === 503) return limited({ overloaded: true });
  if (status >= 500 || status === 408) return failure;
  return { kind: "client_error", retryable: false, detail, fields: clientFields(message, type) };
}

/** A ValidationException: the channel's own fault, a beta Bedrock refuses, or the client's. */
function validation(detail: string, message: string | undefined): UpstreamErrorReading {
  const fields = clientFields(message, "ValidationException");
  // Said of this model for this channel (IAM, or an id the region does not know): the key is
  // refused for the pair, which another channel may serve.
  if (
    message &&
    /not authorized to invoke this API operation|provided model identifier is invalid/i.test(
      message,
    )
  ) {
    return { kind: "auth", retryable: true, detail, fields };
  }
  if (message && /invalid beta flag/i.test(message)) {
    return {
      kind: "client_error",
      retryable: false,
      detail,
      fields,
      resend: {
        why: `Bedrock refused a beta flag; sent once more with at most ${FALLBACK_BETA}`,
        call: withFallbackBeta,
      },
    };
  }
  return { kind: "client_error", retryable: false, detail, fields };
}

/** The call with no beta but the fallback one, if the client asked for that one. */
function withFallbackBeta(call: UpstreamCall): UpstreamCall {
  const headers = { ...call.headers };
  const asked = (headers["anthropic-beta"] ?? "").split(",").map((beta) => beta.trim());
  if (asked.includes(FALLBACK_BETA)) headers["anthropic-beta"] = FALLBACK_BETA;
  else delete headers["anthropic-beta"];
  return { ...call, headers };
}

/** The message for the client: Bedrock's wrapper of the model's own words taken off. */
function clientFields(message: string | undefined, code: string | undefined): UpstreamErrorFields {
  return {
    message: message?.replace(/^The model returned the following errors:\s*/, ""),
    type: "invalid_request_error",
    code: code ?? null,
  };
}

function messageOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { message?: unknown; Message?: unknown } | null;
    const message = body?.message ?? body?.Message;
    return typeof message === "string" ? message : undefined;
  } catch {
    return undefined; // not JSON (a proxy's page): the status speaks
  }
}
