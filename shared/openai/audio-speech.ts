import type { Metered } from "../billing/cost";
import { InvalidRequest, UpstreamRejected } from "../errors";
import { readJsonObject, requireString } from "../http/body";
import { keyRoute } from "../http/route";
import { relayed } from "../relay/relay";
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
 * POST /v1/audio/speech: the audio streams back as the upstream makes it, with its content
 * type. Billed per character of input. Model `tts-az-1` goes to an Azure Speech channel.
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
  const characters = [...input].length;

  // The upstream has synthesised the whole input whatever happens to the stream: all of it is billed.
  const meter = (): Metered => ({ ttsCharacters: characters });
  return relayed(
    call,
    {
      model,
      endpoint: "/v1/audio/speech",
      path: "/audio/speech",
      charge: { dimension: "tts", maxUse: { ttsCharacters: characters } },
      build: (upstreamModel) => ({ json: { ...body, model: upstreamModel } }),
    },
    async (upstream) => {
      const source = upstream.response.body;
      if (!source) throw new UpstreamRejected("unreachable", "The upstream sent no audio.");
      let end!: (value: { outcome: StreamOutcome; meter: () => Metered }) => void;
      const ended = new Promise<{ outcome: StreamOutcome; meter: () => Metered }>((resolve) => {
        end = resolve;
      });
      return {
        response: {
          status: 200,
          headers: {
            "content-type":
              upstream.response.headers.get("content-type") ?? (CONTENT_TYPES[format] as string),
          },
          body: relayBytes(
            source,
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
