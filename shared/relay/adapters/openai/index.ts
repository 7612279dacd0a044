import { sseEvents } from "../../../stream/sse";
import { messagesToChatConfigProblem } from "../../bridges/messages-to-chat/options";
import { responsesOnlyConfigProblem } from "../../chat-serving";
import type { Operation, Protocol } from "../../protocol";
import { responsesConfigProblem } from "../../responses-serving";
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
  // Its config also sets how the Messages and Responses faces reach it (the bridges' options,
  // and `responses`: native or through the Responses → chat bridge), and which models it
  // serves only on Responses (`responses_only`: chat reaches them through the bridge).
  configProblem: (config) =>
    responsesConfigProblem(config) ??
    responsesOnlyConfigProblem(config) ??
    messagesToChatConfigProblem(config),
});
