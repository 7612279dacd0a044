import { demoTokens } from "./common";
import { type Call, type Handler, sendError, sendJson, sendText } from "./http";
import { wavDuration } from "./wav";

/** Bytes per second assumed for audio that is not WAV: 128 kbit/s. */
const COMPRESSED_BYTES_PER_SECOND = 16_000;
/** Audio tokens a second for the gpt-4o transcription models: $0.006 a minute at $6 per 1M. */
const AUDIO_TOKENS_PER_SECOND = 1_000 / 60;

const FORMATS = ["json", "text", "srt", "verbose_json", "vtt"];

/** POST /v1/audio/transcriptions. */
export const transcriptions: Handler = (call) => speechToText(call, "transcribe");

/** POST /v1/audio/translations: the same, translating into English. */
export const translations: Handler = (call) => speechToText(call, "translate");

/**
 * Both audio endpoints take a multipart form with the file. The "transcript" names the file
 * and its duration, which is exact for WAV (from the header) and 128 kbit/s otherwise, so
 * that tests can bill audio by the second and know the answer.
 */
async function speechToText(call: Call, task: "transcribe" | "translate"): Promise<void> {
  const { res, form, fault } = call;
  if (!form) {
    return sendError(res, 400, "The request must be multipart/form-data.", null, "file");
  }
  const file = form.files.file;
  if (!file) return sendError(res, 400, "'file' is a required property.", null, "file");
  const model = form.fields.model;
  if (!model) return sendError(res, 400, "'model' is a required property.", null, "model");
  const format = form.fields.response_format ?? "json";
  if (!FORMATS.includes(format)) {
    return sendError(
      res,
      400,
      `'response_format' must be one of ${FORMATS.join(", ")}.`,
      null,
      "response_format",
    );
  }
  const duration = wavDuration(file.data) ?? file.data.length / COMPRESSED_BYTES_PER_SECOND;
  const verb = task === "transcribe" ? "Transcribed" : "Translated";
  const text = fault.reply ?? `${verb} ${file.filename} (${duration.toFixed(2)} s)`;
  const end = timestamp(duration);
  switch (format) {
    case "text":
      return sendText(res, "text/plain; charset=utf-8", `${text}\n`);
    case "srt":
      return sendText(
        res,
        "text/plain; charset=utf-8",
        `1\n00:00:00,000 --> ${end.replace(".", ",")}\n${text}\n\n`,
      );
    case "vtt":
      return sendText(
        res,
        "text/vtt; charset=utf-8",
        `WEBVTT\n\n00:00:00.000 --> ${end}\n${text}\n\n`,
      );
    case "verbose_json":
      return sendJson(res, 200, {
        task,
        language: "english",
        duration,
        text,
        segments: [
          {
            id: 0,
            seek: 0,
            start: 0,
            end: duration,
            text,
            tokens: [],
            temperature: 0,
            avg_logprob: -0.1,
            compression_ratio: 1,
            no_speech_prob: 0,
          },
        ],
      });
    default: {
      // The gpt-4o transcription models report their usage in tokens, as OpenAI's do.
      const usage = model.startsWith("gpt-4o") && !fault.omitUsage;
      const audio = Math.ceil(duration * AUDIO_TOKENS_PER_SECOND);
      const prompt = demoTokens(form.fields.prompt ?? "").length;
      const output = demoTokens(text).length;
      return sendJson(res, 200, {
        text,
        ...(usage
          ? {
              usage: {
                type: "tokens",
                input_tokens: audio + prompt,
                input_token_details: { text_tokens: prompt, audio_tokens: audio },
                output_tokens: output,
                total_tokens: audio + prompt + output,
              },
            }
          : {}),
      });
    }
  }
}

/** HH:MM:SS.mmm */
function timestamp(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}
