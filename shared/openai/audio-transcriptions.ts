import type { KeyPrincipal } from "../auth/authenticate";
import { audioInputTokens } from "../billing/estimates/audio";
import type { Metered } from "../billing/metered";
import { billsTokens } from "../billing/rates";
import { tokenCounterFor } from "../billing/tokens";
import { fromTranscriptionUsage } from "../billing/usage/openai-audio";
import { InvalidRequest } from "../errors";
import type { JsonObject } from "../http/body";
import { formField, type MultipartForm, readMultipart } from "../http/multipart";
import { json } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { billableSeconds, inspectAudio } from "../media/audio-duration";
import { consumedWhole, parseJsonObject, readUpstreamBody, relayed } from "../relay/relay";
import { SseParser } from "../stream/sse";

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
 * Speech to text, billed by what the caller cannot forge: the upstream's usage (per minute
 * prices: whole seconds, rounded up; per token prices: the prompt's text tokens at the text
 * rate, the audio's at the audio rate, the transcript's at the output rate), and only when it
 * reports none, by the file — a WAV by its played length, any other by what its hold assumed
 * (see media/audio-duration.ts), and for token-priced models the estimate of those kinds.
 * Whisper models tell the duration only in verbose_json, so sluice asks them for that and
 * renders the format the client asked for (json, text, srt, vtt) from it, telling the client
 * the whole seconds billed; text formats go back as plain text, not JSON. The hold covers the
 * file at its codec's lowest bitrate.
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
          sttSeconds: Math.ceil(audio.ceilingSeconds),
          audioInputTokens: Math.ceil(audio.ceilingSeconds * AUDIO_TOKENS_PER_SECOND),
          inputTokens: Buffer.byteLength(prompt),
          outputTokens: Math.ceil(audio.ceilingSeconds * TRANSCRIPT_TOKENS_PER_SECOND),
        },
      },
      build: (upstreamModel) => ({
        form: upstreamForm(form, upstreamModel, rendered ? "verbose_json" : format),
      }),
    },
    async (upstream, quoted) => {
      const bytes = await readUpstreamBody(call, upstream);
      const contentType = upstream.response.headers.get("content-type") ?? "application/json";
      const textAnswer = !rendered && (format === "text" || format === "srt" || format === "vtt");
      const answer = contentType.startsWith("text/event-stream")
        ? lastTranscriptEvent(bytes)
        : textAnswer
          ? undefined
          : parseJsonObject(bytes);
      const reported = fromTranscriptionUsage(answer?.usage);
      // Whole seconds, rounded up: what whisper bills, and what the client is told (render).
      const seconds = Math.ceil(
        reported?.sttSeconds ??
          (typeof answer?.duration === "number" ? answer.duration : billableSeconds(audio)),
      );
      const byTokens = quoted.price.sttPerMinute === undefined && billsTokens(quoted.price);
      const meter = async (): Promise<Metered> => {
        if (!byTokens) return { sttSeconds: seconds };
        if (reported && reported.sttSeconds === undefined) return reported;
        // A token-priced model that reported no tokens: the prompt and the transcript by the
        // model's tokenizer, the audio by the documented audio rule.
        const count = await tokenCounterFor(upstream.upstreamModel);
        const transcript =
          typeof answer?.text === "string" ? answer.text : textAnswer ? decoder.decode(bytes) : "";
        return {
          inputTokens: count(prompt),
          audioInputTokens: audioInputTokens(billableSeconds(audio)),
          outputTokens: count(transcript),
        };
      };
      if (!rendered) {
        return consumedWhole(
          { status: 200, headers: { "content-type": contentType }, body: bytes },
          meter,
        );
      }
      return consumedWhole(render(answer ?? {}, format, seconds), meter);
    },
  );
}

const decoder = new TextDecoder();

/**
 * A streamed transcription (`stream=true`: server-sent events): its `transcript.text.done`
 * event, which carries the whole text and the usage.
 */
function lastTranscriptEvent(bytes: Uint8Array): JsonObject | undefined {
  const parser = new SseParser();
  let done: JsonObject | undefined;
  for (const event of [...parser.push(bytes), ...parser.end()]) {
    const data = parseJsonObject(new TextEncoder().encode(event.data ?? ""));
    if (data?.type === "transcript.text.done") done = data;
  }
  return done;
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
    : [{ start: 0, end: Number(verbose.duration ?? seconds), text: text.trim() }];
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
      return json(200, { text, usage: { type: "duration", seconds } });
  }
}

/** 00:01:02,345 (SRT) or 00:01:02.345 (WebVTT). */
function timestamp(seconds: number, separator: "," | "."): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}
