/**
 * What a token-priced speech model (gpt-4o-mini-tts) consumed, estimated when its answer
 * reported no usage (relay/speech-answer.ts reads the answer): the text it read and the audio
 * it spoke.
 */
import type { Metered } from "../metered";
import { tokenCounterFor } from "../tokens";
import { audioOutputTokens } from "./audio";

/**
 * When the audio's length cannot be read (an unknown format): ~6 audio tokens per input text
 * token at speed 1, as measured against OpenAI's bills (sanand0, 2025-11-02; see
 * research/prices/usage-shapes.md §4).
 */
const AUDIO_TOKENS_PER_TEXT_TOKEN = 6;

/**
 * A token-priced speech call's estimate: the input text's and the instructions' tokens, and
 * the audio output's tokens by its length (audio.ts) — or, when its length is unknown, by
 * AUDIO_TOKENS_PER_TEXT_TOKEN.
 */
export async function estimateSpeech(
  request: { input: string; instructions?: string; speed?: number },
  model: string,
  seconds: number | undefined,
): Promise<Metered> {
  const count = await tokenCounterFor(model);
  const input = count(request.input);
  const audio =
    seconds !== undefined
      ? audioOutputTokens(seconds)
      : Math.ceil((input * AUDIO_TOKENS_PER_TEXT_TOKEN) / (request.speed ?? 1));
  const text = input + count(request.instructions ?? "");
  return {
    ...(text > 0 && { inputTokens: text }),
    ...(audio > 0 && { audioOutputTokens: audio }),
  };
}
