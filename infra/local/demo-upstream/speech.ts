import { type AudioContainer, demoAudio, sendAudio } from "./audio";
import { type Call, jsonBody, sendError } from "./http";

interface SpeechRequest {
  model: string;
  input: string;
  voice: string;
  response_format: string;
  speed: number;
}

/** OpenAI's response formats: the container each is sent in and its content type. */
const FORMATS: Record<string, { container: AudioContainer; contentType: string }> = {
  mp3: { container: "mp3", contentType: "audio/mpeg" },
  opus: { container: "ogg", contentType: "audio/opus" },
  aac: { container: "aac", contentType: "audio/aac" },
  flac: { container: "flac", contentType: "audio/flac" },
  wav: { container: "wav", contentType: "audio/wav" },
  pcm: { container: "pcm", contentType: "audio/pcm" },
};

/** POST /v1/audio/speech: text to speech, streamed back as audio bytes. */
export async function speech(call: Call): Promise<void> {
  const { res } = call;
  const request = jsonBody<SpeechRequest>(call);
  if (typeof request.input !== "string" || request.input === "") {
    return sendError(res, 400, "'input' is a required property.", null, "input");
  }
  if (request.input.length > 4096) {
    return sendError(res, 400, "'input' is longer than 4096 characters.", null, "input");
  }
  if (typeof request.voice !== "string" || request.voice === "") {
    return sendError(res, 400, "'voice' is a required property.", null, "voice");
  }
  const format = FORMATS[request.response_format ?? "mp3"];
  if (!format) {
    return sendError(
      res,
      400,
      `'response_format' must be one of ${Object.keys(FORMATS).join(", ")}.`,
      null,
      "response_format",
    );
  }
  const speed = request.speed ?? 1;
  if (typeof speed !== "number" || speed < 0.25 || speed > 4) {
    return sendError(res, 400, "'speed' must be from 0.25 to 4.0.", null, "speed");
  }
  const audio = demoAudio(format.container, request.input, speed);
  await sendAudio(res, format.contentType, audio, call.fault, call.state);
}
