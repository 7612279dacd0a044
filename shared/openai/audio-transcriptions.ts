import type { KeyPrincipal } from "../auth/authenticate";
import type { Metered } from "../billing/cost";
import { InvalidRequest } from "../errors";
import { isObject, type JsonObject } from "../http/body";
import { formField, type MultipartForm, readMultipart } from "../http/multipart";
import { json } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { billableSeconds, inspectAudio } from "../media/audio-duration";
import { consumedWhole, parseJsonObject, readUpstreamBody, relayed } from "../relay/relay";

const FORMATS = ["json", "text", "srt", "verbose_json", "vtt", "diarized_json"];

/**
 * Models priced by tokens (gpt-4o-transcribe and kin) bill the audio's tokens and the
 * transcript's. OpenAI publishes no rate; its own estimate of $0.006 a minute at $6 per 1M
 * audio tokens is 1,000 a minute (17 a second). The hold assumes 25 a second of audio, and a
 * transcript of at most 10 tokens a second (speech runs at 2–4; dense CJK near 8).
 */
const AUDIO_TOKENS_PER_SECOND = 25;
const TRANSCRIPT_TOKENS_PER_SECOND = 10;

/** POST /v1/audio/transcriptions */
export const createTranscription = keyRoute("POST", "/v1/audio/transcriptions", (call) =>
  speechToText(call, "transcriptions"),
);

/** POST /v1/audio/translations */
export const createTranslation = keyRoute("POST", "/v1/audio/translations", (call) =>
  speechToText(call, "translations"),
);

/**
 * Speech to text, billed by what the caller cannot forge: the upstream's reported duration
 * (per minute prices) or token usage (per token prices), and only when it reports neither,
 * by the file — a WAV by its played length, any other by what its hold assumed (see
 * media/audio-duration.ts). Whisper models tell the duration only in verbose_json, so
 * sluice asks them for that and renders the format the client asked for (json, text, srt,
 * vtt) from it; text formats go back as plain text, not JSON. The hold covers the file at its
 * codec's lowest bitrate.
 */
async function speechToText(
  call: Call<KeyPrincipal>,
  kind: "transcriptions" | "translations",
): Promise<GatewayResponse> {
  const form = await readMultipart(call.request);
  const file = form.files.get("file");
  if (!file || file.data.byteLength === 0)
    throw new InvalidRequest("You must provide a file (the audio to transcribe).", "file");
  const model = formField(form, "model");
  if (!model) throw new InvalidRequest("You must provide a model parameter.", "model");
  const format = formField(form, "response_format") ?? "json";
  if (!FORMATS.includes(format))
    throw new InvalidRequest(
      `'response_format' must be one of ${FORMATS.join(", ")}.`,
      "response_format",
    );
  const rendered =
    model.startsWith("whisper") && format !== "verbose_json" && format !== "diarized_json";
  const audio = inspectAudio(file.data);
  const prompt = formField(form, "prompt") ?? "";

  return relayed(
    call,
    {
      model,
      endpoint: `/v1/audio/${kind}`,
      path: `/audio/${kind}`,
      charge: {
        dimension: "stt",
        maxUse: {
          sttMilliseconds: Math.ceil(audio.ceilingSeconds * 1000),
          promptTokens:
            Math.ceil(audio.ceilingSeconds * AUDIO_TOKENS_PER_SECOND) + Buffer.byteLength(prompt),
          completionTokens: Math.ceil(audio.ceilingSeconds * TRANSCRIPT_TOKENS_PER_SECOND),
        },
      },
      build: (upstreamModel) => ({
        form: upstreamForm(form, upstreamModel, rendered ? "verbose_json" : format),
      }),
    },
    async (upstream, quoted) => {
      const bytes = await readUpstreamBody(call, upstream);
      const textAnswer = !rendered && (format === "text" || format === "srt" || format === "vtt");
      const answer = textAnswer ? undefined : parseJsonObject(bytes);
      const seconds = durationOf(answer) ?? billableSeconds(audio);
      const tokens = tokenUsageOf(answer);
      const byTokens = quoted.price.sttPerMinute === undefined;
      const meter = (): Metered => ({
        sttMilliseconds: Math.ceil(seconds * 1000),
        // A model priced by tokens that reports none is billed the bound the hold used.
        ...(tokens ??
          (byTokens
            ? {
                promptTokens:
                  Math.ceil(seconds * AUDIO_TOKENS_PER_SECOND) + Buffer.byteLength(prompt),
                completionTokens: Math.ceil(seconds * TRANSCRIPT_TOKENS_PER_SECOND),
              }
            : {})),
      });
      if (!rendered) {
        const contentType = upstream.response.headers.get("content-type") ?? "application/json";
        return consumedWhole(
          { status: 200, headers: { "content-type": contentType }, body: bytes },
          meter,
        );
      }
      return consumedWhole(render(answer ?? {}, format, seconds), meter);
    },
  );
}

/** The client's form for the upstream: the mapped model, the response format sluice needs. */
function upstreamForm(form: MultipartForm, model: string, format: string): FormData {
  const out = new FormData();
  for (const [name, values] of form.fields) {
    if (name === "model" || name === "response_format") continue;
    for (const value of values) out.append(name, value);
  }
  for (const [name, file] of form.files) {
    out.append(name, new Blob([file.data], { type: file.contentType }), file.filename);
  }
  out.set("model", model);
  out.set("response_format", format);
  return out;
}

function durationOf(answer: JsonObject | undefined): number | undefined {
  if (typeof answer?.duration === "number") return answer.duration;
  const usage = answer?.usage;
  if (isObject(usage) && usage.type === "duration" && typeof usage.seconds === "number")
    return usage.seconds;
  return undefined;
}

/** Token usage, as gpt-4o-transcribe reports it: {type: "tokens", input_tokens, output_tokens}. */
function tokenUsageOf(answer: JsonObject | undefined): Metered | undefined {
  const usage = answer?.usage;
  if (!isObject(usage) || usage.type !== "tokens") return undefined;
  if (typeof usage.input_tokens !== "number" || typeof usage.output_tokens !== "number")
    return undefined;
  return { promptTokens: usage.input_tokens, completionTokens: usage.output_tokens };
}

interface Segment {
  start: number;
  end: number;
  text: string;
}

/** A whisper verbose_json answer as the format the client asked for. */
function render(verbose: JsonObject, format: string, seconds: number): GatewayResponse {
  const text = typeof verbose.text === "string" ? verbose.text : "";
  const segments: Segment[] = Array.isArray(verbose.segments)
    ? (verbose.segments as JsonObject[]).map((s) => ({
        start: Number(s.start ?? 0),
        end: Number(s.end ?? 0),
        text: String(s.text ?? "").trim(),
      }))
    : [{ start: 0, end: seconds, text: text.trim() }];
  const plain = (body: string, type: string) => ({
    status: 200,
    headers: { "content-type": type },
    body,
  });
  switch (format) {
    case "text":
      return plain(`${text}\n`, "text/plain; charset=utf-8");
    case "srt":
      return plain(
        segments
          .map(
            (s, i) =>
              `${i + 1}\n${timestamp(s.start, ",")} --> ${timestamp(s.end, ",")}\n${s.text}\n\n`,
          )
          .join(""),
        "text/plain; charset=utf-8",
      );
    case "vtt":
      return plain(
        `WEBVTT\n\n${segments.map((s) => `${timestamp(s.start, ".")} --> ${timestamp(s.end, ".")}\n${s.text}\n\n`).join("")}`,
        "text/vtt; charset=utf-8",
      );
    default:
      return json(200, { text, usage: { type: "duration", seconds: Math.ceil(seconds) } });
  }
}

/** 00:01:02,345 (SRT) or 00:01:02.345 (WebVTT). */
function timestamp(seconds: number, separator: "," | "."): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}
