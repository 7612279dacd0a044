/**
 * A chat upstream's refusal in OpenAI's terms (the Responses face's envelope is OpenAI's
 * `{error: {message, type, param, code}}`): the status kept where it is the client's to act on.
 * A 401, 402 or 403 is about sluice's key to the upstream, not the client's: it becomes a 502
 * `server_error` (Codex would otherwise ask its user to log in again); a 5xx is a 502 too.
 */
import type { UpstreamErrorFields } from "../../adapters/adapter";
import type { FaceError } from "../bridge";

export function responsesError(status: number, fields: UpstreamErrorFields): FaceError {
  const message = fields.message || `The upstream provider answered ${status}.`;
  const as = (s: number, type: string): FaceError => ({ status: s, type, message });
  if (status === 401 || status === 402 || status === 403 || status >= 500)
    return as(502, "server_error");
  if (status === 404) return as(404, "not_found_error");
  if (status === 429) return as(429, "rate_limit_error");
  return as(status, "invalid_request_error");
}
