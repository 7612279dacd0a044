import type { KeyPrincipal } from "../auth/authenticate";
import { audioSecondsAtMost, wavSeconds } from "../billing/audio-duration";
import { isObject, type JsonObject } from "../http/body";
import { badRequest } from "../http/errors";
import { formField, type MultipartForm, readMultipart } from "../http/multipart";
import { json } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { parseJsonObject, readUpstreamBody, relay, settleAfterResponse } from "../relay/relay";

const FORMATS = ["json", "text", "srt", "verbose_json", "vtt", "diarized_json"];

/** POST /v1/audio/transcriptions */
export const createTranscription = keyRoute("POST", "/v1/audio/transcriptions", (call) =>
  speechToText(call, "transcriptions"),
);

/** POST /v1/audio/translations */
export const createTranslation = keyRoute("POST", "/v1/audio/translations", (call) =>
  speechToText(call, "translations"),
);

/**
 * Speech to text, billed by audio duration. Whisper models tell the duration only in
 * verbose_json, so sluice asks them for that and renders the format the client asked for
 * (json, text, srt, vtt) from it; text formats go back as plain text, not JSON. Other models
 * get the client's format, and the duration comes from their usage, or from the file.
 */
async function speechToText(
  call: Call<KeyPrincipal>,
  kind: "transcriptions" | "translations",
): Promise<GatewayResponse> {
  const form = readMultipart(call.request);
  const file = form.files.get("file");
  if (!file || file.data.byteLength === 0)
    throw badRequest("You must provide a file (the audio to transcribe).", "file");
  const model = formField(form, "model");
  if (!model) throw badRequest("You must provide a model parameter.", "model");
  const format = formField(form, "response_format") ?? "json";
  if (!FORMATS.includes(format))
    throw badRequest(`'response_format' must be one of ${FORMATS.join(", ")}.`, "response_format");
  const rendered =
    model.startsWith("whisper") && format !== "verbose_json" && format !== "diarized_json";

  const { charge, upstream } = await relay(call, {
    model,
    endpoint: `/v1/audio/${kind}`,
    path: `/audio/${kind}`,
    charge: { dimension: "stt", maxUse: { sttMilliseconds: audioSecondsAtMost(file.data) * 1000 } },
    build: (upstreamModel) => ({
      form: upstreamForm(form, upstreamModel, rendered ? "verbose_json" : format),
    }),
  });
  const bytes = await readUpstreamBody(call, upstream, charge);
  const textAnswer = !rendered && (format === "text" || format === "srt" || format === "vtt");
  const answer = textAnswer ? undefined : parseJsonObject(bytes);
  const seconds = durationOf(answer) ?? wavSeconds(file.data) ?? file.data.byteLength / 16_000;
  settleAfterResponse(
    call,
    charge,
    () => ({ sttMilliseconds: Math.round(seconds * 1000) }),
    upstream.channel.id,
  );

  if (!rendered) {
    const contentType = upstream.response.headers.get("content-type") ?? "application/json";
    return { status: 200, headers: { "content-type": contentType }, body: bytes };
  }
  return render(answer ?? {}, format, seconds);
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
