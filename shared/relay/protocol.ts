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
  | "moderation";

/**
 * The wire formats. Today every channel speaks each operation in OpenAI's format for it (Azure
 * Speech turns the speech request into SSML itself, and answers audio as OpenAI does).
 */
export type Protocol = Operation;

/** The operation at each OpenAI path below /v1. */
const OPERATIONS: Readonly<Record<string, Operation>> = {
  "/chat/completions": "chat",
  "/completions": "completion",
  "/embeddings": "embedding",
  "/images/generations": "image",
  "/audio/speech": "speech",
  "/audio/transcriptions": "transcription",
  "/audio/translations": "translation",
  "/moderations": "moderation",
};

/** The operation an OpenAI path (below /v1) asks for; undefined for a path sluice does not relay. */
export function operationOf(path: string): Operation | undefined {
  return Object.hasOwn(OPERATIONS, path) ? OPERATIONS[path] : undefined;
}
