/**
 * The server's refusals in the reader's language: an error's message code and params worded
 * by the catalogues of shared/messages (plain TS, no DOM, shared with the server and the CLI).
 * A code this console does not know (a newer server) or params it cannot word keep the
 * server's English sentence. This module touches no DOM, so tests can import it.
 */
import { renderOr } from "../../../shared/messages/render";
import { getLang } from "../i18n";

/** What an error from the API carries: its English sentence, and its code and params if any. */
export interface Coded {
  message: string;
  code?: string | null;
  params?: Record<string, unknown> | null;
}

export function translate(error: Coded): string {
  return renderOr(getLang(), error, error.message);
}
