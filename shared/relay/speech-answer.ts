/**
 * A speech answer as sluice relays it, watched for what it consumed. OpenAI's answer is the
 * audio itself, with no usage, unless the caller asked for `stream_format: "sse"`, whose
 * `speech.audio.done` event carries it: so the SSE usage when there is one, else the length of
 * the audio (for billing/estimates/speech.ts).
 */
import { upstreamAudioSeconds } from "../billing/estimates/audio";
import type { Metered } from "../billing/metered";
import { fromSpeechUsage } from "../billing/usage/openai-audio";
import { isObject } from "../http/body";
import { SseParser } from "../stream/sse";

/** `pcm` is headerless: 24 kHz, 16-bit, mono, as OpenAI's speech API documents it. */
const PCM_BYTES_PER_SECOND = 24_000 * 2;

/** The audio of a speech answer, or its SSE events, as they go by. */
export class SpeechAnswer {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  private readonly parser: SseParser | undefined;
  private reported: Metered | undefined;

  /** `sse`: the answer is an event stream (`stream_format: "sse"`), not audio bytes. */
  constructor(
    private readonly format: string,
    sse: boolean,
  ) {
    this.parser = sse ? new SseParser() : undefined;
  }

  /** One chunk of the answer, as relayed. */
  observe(chunk: Uint8Array): void {
    if (!this.parser) {
      this.audio(chunk);
      return;
    }
    for (const event of this.parser.push(chunk)) {
      let data: unknown;
      try {
        data = JSON.parse(event.data ?? "");
      } catch {
        continue;
      }
      if (!isObject(data)) continue;
      if (data.type === "speech.audio.done") this.reported = fromSpeechUsage(data.usage);
      else if (data.type === "speech.audio.delta" && typeof data.audio === "string")
        this.audio(Buffer.from(data.audio, "base64"));
    }
  }

  private audio(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    // PCM's length is its size; other formats are read whole at the end.
    if (this.format !== "pcm") this.chunks.push(chunk);
  }

  /** The usage a `speech.audio.done` event reported, if one did. */
  get usage(): Metered | undefined {
    return this.reported;
  }

  /** How long the audio relayed so far is; undefined when its format does not say. */
  seconds(): number | undefined {
    if (this.format === "pcm") return this.bytes / PCM_BYTES_PER_SECOND;
    if (this.bytes === 0) return 0;
    return upstreamAudioSeconds(Buffer.concat(this.chunks));
  }
}
