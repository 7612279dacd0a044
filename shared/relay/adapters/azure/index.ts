import { sseEvents } from "../../../stream/sse";
import { messagesToChatConfigProblem } from "../../bridges/messages-to-chat/options";
import type { Operation, Protocol } from "../../protocol";
import { defineAdapter } from "../adapter";
import { readOpenAiError } from "../openai/errors";
import { chatTestCall } from "../openai/probe";
import { openAiUsage } from "../openai/usage";
import { azureRequest } from "./request";

/** What Azure OpenAI serves (no moderations), each as OpenAI does; Responses on its v1 API. */
const OPERATIONS: Partial<Record<Operation, Protocol>> = {
  chat: "chat",
  completion: "completion",
  embedding: "embedding",
  image: "image",
  transcription: "transcription",
  translation: "translation",
  speech: "speech",
  responses: "responses",
};

/**
 * Azure OpenAI: OpenAI's protocols on Azure's paths and key header (request.ts); its answers,
 * streams, errors and usage are OpenAI's. Without a mapping the deployment is the model name
 * without dots (gpt-35-turbo for gpt-3.5-turbo), Azure's own naming. It has no key-wide probe:
 * its key is one per resource, and a 403 may be about one deployment.
 */
export const azureAdapter = defineAdapter({
  operations: OPERATIONS,
  defaultUpstreamModel: (model) => model.replaceAll(".", ""),
  request: azureRequest,
  decode: sseEvents,
  error: readOpenAiError,
  usage: openAiUsage,
  probe: () => undefined,
  testCall: chatTestCall,
  // Its config also sets how the Messages face reaches it (the bridge's options).
  configProblem: messagesToChatConfigProblem,
});
