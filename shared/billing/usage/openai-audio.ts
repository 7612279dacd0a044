/**
 * The usage of OpenAI's audio endpoints: transcriptions (token-priced gpt-4o-*-transcribe, and
 * whisper-1 priced by the second) and token-priced speech (gpt-4o-mini-tts).
 */
import type { Metered } from "../metered";
import { carve, count, countOf, fieldOf, metered, objectOf } from "./read";

/**
 * The kinds of a transcription's `usage` (in the json and verbose_json answers, and in a
 * stream's `transcript.text.done` event), or undefined when it is neither variant:
 * - `{type: "tokens"}`: `input_token_details.text_tokens` (the request's `prompt`) are text
 *   input and the rest of input_tokens is audio input, which is what a transcription reads;
 *   output_tokens are text output.
 * - `{type: "duration", seconds}`: sttSeconds, in whole seconds rounded up, as per-minute
 *   models bill them.
 * An object without `type` is read as the variant whose fields it has.
 */
export function fromTranscriptionUsage(usage: unknown): Metered | undefined {
  const u = objectOf(usage);
  const type = fieldOf(u, "type");
  const seconds = count(u, "seconds");
  if (type === "duration" || (type === undefined && seconds !== undefined)) {
    return seconds === undefined ? undefined : metered({ sttSeconds: seconds });
  }
  if (type !== "tokens" && type !== undefined) return undefined;
  const input = count(u, "input_tokens");
  const output = count(u, "output_tokens");
  if (input === undefined && output === undefined) return undefined;
  const details = objectOf(fieldOf(u, "input_token_details"));
  const [textInput, audioInput] = carve(input ?? 0, [count(details, "text_tokens")]);
  return metered({ inputTokens: textInput, audioInputTokens: audioInput, outputTokens: output });
}

/**
 * The kinds of a speech stream's `speech.audio.done` usage (`stream_format: "sse"`): its
 * input_tokens are the text read, its output_tokens the audio written. Undefined when it has
 * neither. (With the default `stream_format: "audio"` the answer is audio bytes and carries no
 * usage at all.)
 */
export function fromSpeechUsage(usage: unknown): Metered | undefined {
  const u = objectOf(usage);
  const input = countOf(fieldOf(u, "input_tokens"));
  const output = countOf(fieldOf(u, "output_tokens"));
  if (input === undefined && output === undefined) return undefined;
  return metered({ inputTokens: input, audioOutputTokens: output });
}
