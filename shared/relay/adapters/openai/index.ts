import { sseEvents } from "../../../stream/sse";
import { messagesToChatConfigProblem } from "../../bridges/messages-to-chat/options";
import type { Operation, Protocol } from "../../protocol";
import { defineAdapter } from "../adapter";
import { readOpenAiError } from "./errors";
import { chatTestCall, modelsProbe } from "./probe";
import { openAiRequest } from "./request";
import { openAiUsage } from "./usage";

/** Every OpenAI operation, each in OpenAI's own protocol for it. */
const OPERATIONS: Partial<Record<Operation, Protocol>> = {
  chat: "chat",
  completion: "completion",
  embedding: "embedding",
  image: "image",
  speech: "speech",
  transcription: "transcription",
  translation: "translation",
  moderation: "moderation",
  responses: "responses",
};

/**
 * Any OpenAI-compatible API: OpenAI itself, or a relay, vLLM, Ollama, … at `baseUrl`. Requests
 * and answers pass as they are; streams are SSE.
 */
export const openaiAdapter = defineAdapter({
  operations: OPERATIONS,
  request: openAiRequest,
  decode: sseEvents,
  error: readOpenAiError,
  usage: openAiUsage,
  probe: modelsProbe,
  testCall: chatTestCall,
  // Its config also sets how the Messages face reaches it (the bridge's options).
  configProblem: messagesToChatConfigProblem,
});
