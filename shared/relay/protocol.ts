/**
 * What a client asks of a channel (an operation) and the wire format a channel speaks it in
 * (a protocol: its request, its answer, its stream events and its usage). A channel adapter
 * says which operations it serves and in which protocol (adapters/adapter.ts).
 */

/** The operations sluice relays, each one of the OpenAI API's. */
export type Operation =
  | "chat"
  | "completion"
  | "embedding"
  | "image"
  | "speech"
  | "transcription"
  | "translation"
  | "moderation"
  /** Anthropic's Messages API (`/v1/messages`): Claude Code and the Anthropic SDKs. */
  | "messages"
  /** OpenAI's Responses API (`/v1/responses`): Codex and the openai SDK's `responses.*`. */
  | "responses";

/**
 * The wire formats: each operation's own (OpenAI's format for OpenAI's operations, Anthropic's
 * for `messages`). Azure Speech turns the speech request into SSML itself, and answers audio as
 * OpenAI does. A channel that speaks an operation in another protocol than the client's is
 * reached through a bridge (relay/bridges/).
 */
export type Protocol = Operation;

/** The operation at each path below /v1. */
const OPERATIONS: Readonly<Record<string, Operation>> = {
  "/chat/completions": "chat",
  "/completions": "completion",
  "/embeddings": "embedding",
  "/images/generations": "image",
  "/audio/speech": "speech",
  "/audio/transcriptions": "transcription",
  "/audio/translations": "translation",
  "/moderations": "moderation",
  "/messages": "messages",
  "/responses": "responses",
};

/** The operation a path (below /v1) asks for; undefined for a path sluice does not relay. */
export function operationOf(path: string): Operation | undefined {
  return Object.hasOwn(OPERATIONS, path) ? OPERATIONS[path] : undefined;
}

/** The path (below /v1) of an operation, as its own protocol calls it. */
export function pathOf(op: Operation): string {
  return Object.entries(OPERATIONS).find(([, named]) => named === op)?.[0] as string;
}
