import { estimateSpeech } from "../billing/estimates/speech";
import type { Metered } from "../billing/metered";
import { billsTokens } from "../billing/rates";
import { InvalidRequest, UpstreamRejected } from "../errors";
import { readJsonObject, requireString } from "../http/body";
import { keyRoute } from "../http/route";
import { relayed } from "../relay/relay";
import { SpeechAnswer } from "../relay/speech-answer";
import { relayBytes } from "../stream/relay-bytes";
import type { StreamOutcome } from "../stream/relay-stream";

const CONTENT_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  opus: "audio/opus",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
};

/**
 * Token-priced speech (gpt-4o-mini-tts) is held at most this many audio tokens per input
 * character at speed 1 (and 1/speed times that): 1 second of speech a character, at the
 * documented 20 audio tokens a second (billing/estimates/audio.ts). Voices speak 10–15 Latin
 * or 4–8 CJK characters a second; OpenAI documents no maximum output for its TTS models, so an
 * upstream that speaks longer than this is billed the hold (the rest is logged as shortfall).
 */
const HELD_AUDIO_TOKENS_PER_CHARACTER = 20;

/**
 * POST /v1/audio/speech: the audio streams back as the upstream makes it, with its content
 * type. Models priced per character (tts-1, tts-1-hd) are billed per character of input;
 * models priced by tokens (gpt-4o-mini-tts) by the usage of a `stream_format: "sse"` answer,
 * else by an estimate: the input's and instructions' tokens, and the audio's length
 * (billing/estimates/speech.ts). Model `tts-az-1` goes to an Azure Speech channel.
 */
export const createSpeech = keyRoute("POST", "/v1/audio/speech", async (call) => {
  const body = readJsonObject(call.request);
  const model = requireString(body, "model");
  const input = requireString(body, "input");
  if (input.length > 4096)
    throw new InvalidRequest("'input' must be at most 4096 characters.", "input");
  if (body.voice === undefined || body.voice === null || body.voice === "") {
    throw new InvalidRequest("You must provide a voice.", "voice");
  }
  const format = body.response_format ?? "mp3";
  if (typeof format !== "string" || !CONTENT_TYPES[format]) {
    throw new InvalidRequest(
      `'response_format' must be one of ${Object.keys(CONTENT_TYPES).join(", ")}.`,
      "response_format",
    );
  }
  if (
    body.speed !== undefined &&
    (typeof body.speed !== "number" || body.speed < 0.25 || body.speed > 4)
  ) {
    throw new InvalidRequest("'speed' must be a number from 0.25 to 4.0.", "speed");
  }
  const speed = typeof body.speed === "number" ? body.speed : 1;
  const instructions = body.instructions ?? "";
  if (typeof instructions !== "string" || instructions.length > 4096)
    throw new InvalidRequest(
      "'instructions' must be a string of at most 4096 characters.",
      "instructions",
    );
  const streamFormat = body.stream_format ?? "audio";
  if (streamFormat !== "audio" && streamFormat !== "sse")
    throw new InvalidRequest("'stream_format' must be audio or sse.", "stream_format");
  const characters = [...input].length;

  return relayed(
    call,
    {
      model,
      endpoint: "/v1/audio/speech",
      path: "/audio/speech",
      charge: {
        dimension: "tts",
        // Per character, or by tokens: the text's bytes bound its tokens (prompt-bound.ts).
        maxUse: {
          ttsCharacters: characters,
          inputTokens: Buffer.byteLength(input) + Buffer.byteLength(instructions),
          audioOutputTokens: Math.ceil((characters * HELD_AUDIO_TOKENS_PER_CHARACTER) / speed),
        },
      },
      build: (upstreamModel) => ({ json: { ...body, model: upstreamModel } }),
    },
    async (upstream, quoted) => {
      const source = upstream.response.body;
      if (!source) throw new UpstreamRejected("unreachable", "The upstream sent no audio.");
      let end!: (value: { outcome: StreamOutcome; meter: () => Promise<Metered> }) => void;
      const ended = new Promise<{ outcome: StreamOutcome; meter: () => Promise<Metered> }>(
        (resolve) => {
          end = resolve;
        },
      );
      const { price } = quoted;
      const byCharacters =
        price.ttsPerMillionChars !== undefined || price.free || !billsTokens(price);
      const contentType = upstream.response.headers.get("content-type");
      const answer = new SpeechAnswer(
        format,
        contentType?.startsWith("text/event-stream") ?? false,
      );
      // The upstream has synthesised the whole input whatever happens to the stream: all of
      // the text is billed, and the audio it made as far as it was relayed.
      const meter = async (): Promise<Metered> =>
        byCharacters
          ? { ttsCharacters: characters }
          : (answer.usage ??
            (await estimateSpeech(
              { input, instructions, speed },
              upstream.upstreamModel,
              answer.seconds(),
            )));
      return {
        response: {
          status: 200,
          headers: {
            "content-type": contentType ?? (CONTENT_TYPES[format] as string),
          },
          body: relayBytes(
            byCharacters ? source : watched(source, (chunk) => answer.observe(chunk)),
            upstream.abort,
            (outcome) => end({ outcome, meter }),
            call.services.settings.upstreamIdleTimeoutMs,
          ),
        },
        ended,
      };
    },
  );
});

/** `source`, each chunk shown to `observe` as it goes by. */
async function* watched(
  source: AsyncIterable<Uint8Array>,
  observe: (chunk: Uint8Array) => void,
): AsyncIterable<Uint8Array> {
  for await (const chunk of source) {
    observe(chunk);
    yield chunk;
  }
}
