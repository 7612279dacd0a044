import { sseEvents } from "../../../stream/sse";
import { defineAdapter } from "../adapter";
import { readOpenAiError } from "../openai/errors";
import { azureSpeechRequest } from "./request";

export { AZURE_DEFAULT_VOICE, azureVoice, prosodyRate, ssml } from "./ssml";

/**
 * Azure AI Speech text to speech (model `tts-az-1` in seed 000): speech only, its request SSML
 * (request.ts), its answer the audio, with no usage. `baseUrl` is the region's endpoint, e.g.
 * https://eastus.tts.speech.microsoft.com. Its errors are read as OpenAI's (their bodies are
 * not OpenAI's, so the client gets sluice's generic message). It has no key-wide probe; its
 * test is a short speech.
 */
export const azureSpeechAdapter = defineAdapter({
  operations: { speech: "speech" },
  request: azureSpeechRequest,
  decode: sseEvents,
  error: readOpenAiError,
  usage: () => undefined,
  probe: () => undefined,
  testCall: (model, upstreamModel) => ({
    path: "/audio/speech",
    model,
    upstreamModel,
    json: { model, input: "sluice channel test", voice: "alloy" },
  }),
});
