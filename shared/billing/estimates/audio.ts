/**
 * Audio tokens as OpenAI counts them: "Audio tokens in user messages are 1 token per 100 ms of
 * audio, while audio tokens in assistant messages are 1 token per 50ms of audio"
 * (developers.openai.com/api/docs/guides/realtime-costs). OpenAI documents the rule for its
 * gpt-4o audio models; sluice applies it to every audio it must estimate: chat audio in and
 * out, a transcription's input, a token-priced TTS model's output.
 */
import { billableSeconds, inspectAudio } from "../../media/audio-duration";

const INPUT_AUDIO_MS_PER_TOKEN = 100;
const OUTPUT_AUDIO_MS_PER_TOKEN = 50;

/** Tokens of `seconds` of audio the model reads. */
export function audioInputTokens(seconds: number): number {
  return tokensOf(seconds, INPUT_AUDIO_MS_PER_TOKEN);
}

/** Tokens of `seconds` of audio the model speaks. */
export function audioOutputTokens(seconds: number): number {
  return tokensOf(seconds, OUTPUT_AUDIO_MS_PER_TOKEN);
}

function tokensOf(seconds: number, msPerToken: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.ceil(Math.round(seconds * 1000) / msPerToken);
}

/**
 * How long a recording a caller sent is: a WAV's played length, any other file what its hold
 * assumed (media/audio-duration.ts: a caller's header is not believed where decoders ignore it).
 */
export function callerAudioSeconds(data: Uint8Array): number {
  return billableSeconds(inspectAudio(data));
}

/**
 * How long audio an upstream made is, or undefined when its format does not say: the
 * upstream's own headers are believed (the caller did not write them).
 */
export function upstreamAudioSeconds(data: Uint8Array): number | undefined {
  return inspectAudio(data).declaredSeconds ?? adtsSeconds(data);
}

/**
 * Raw AAC (ADTS, what `response_format: "aac"` streams): 1,024 samples a frame, at the rate
 * each frame header states. Undefined when the data is not ADTS.
 */
function adtsSeconds(data: Uint8Array): number | undefined {
  const RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000];
  let seconds = 0;
  let at = 0;
  while (at + 7 <= data.byteLength) {
    if (data[at] !== 0xff || ((data[at + 1] as number) & 0xf6) !== 0xf0) break;
    const rate = RATES[((data[at + 2] as number) >> 2) & 0x0f];
    const length =
      (((data[at + 3] as number) & 0x03) << 11) |
      ((data[at + 4] as number) << 3) |
      ((data[at + 5] as number) >> 5);
    if (!rate || length < 7) break;
    seconds += 1024 / rate;
    at += length;
  }
  return seconds > 0 ? seconds : undefined;
}
