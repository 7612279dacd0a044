/**
 * A chat upstream's refusal in Anthropic's terms (DESIGN-20 §2.5, §6.5): the status kept where
 * it is the client's to act on, the type Anthropic gives that status, the upstream's message.
 * A 401 or 403 (and a 402, an account out of funds) is about sluice's key to the upstream, not
 * the client's: it becomes 529 `overloaded_error`, never a 401 that would send Claude Code to
 * its login. Faces that classify those failures before a bridge is asked keep that answer.
 */
import type { UpstreamErrorFields } from "../../adapters/adapter";
import type { AnthropicErrorType } from "../block-writer";
import type { FaceError } from "../bridge";

export function messagesError(status: number, fields: UpstreamErrorFields): FaceError {
  const message = fields.message || `The upstream provider answered ${status}.`;
  const as = (s: number, type: AnthropicErrorType): FaceError => ({ status: s, type, message });
  if (status === 401 || status === 402 || status === 403 || status >= 500)
    return as(529, "overloaded_error");
  if (status === 404) return as(404, "not_found_error");
  if (status === 413) return as(413, "request_too_large");
  if (status === 429) return as(429, "rate_limit_error");
  // 400, 422 (a request the host cannot take: rule 8 wants it kept), and any other 4xx.
  return as(status, "invalid_request_error");
}
