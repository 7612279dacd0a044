import { type AudioContainer, demoAudio, sendAudio } from "./audio";
import { type Call, sendEmpty } from "./http";

/** Azure Speech output formats this stand-in speaks: the container and content type. */
const OUTPUT_FORMATS: Record<string, { container: AudioContainer; contentType: string }> = {
  "audio-24khz-48kbitrate-mono-mp3": { container: "mp3", contentType: "audio/mpeg" },
  "audio-24khz-160kbitrate-mono-mp3": { container: "mp3", contentType: "audio/mpeg" },
  "ogg-24khz-16bit-mono-opus": { container: "ogg", contentType: "audio/ogg" },
  "webm-24khz-16bit-mono-opus": { container: "webm", contentType: "audio/webm" },
  "riff-24khz-16bit-mono-pcm": { container: "wav", contentType: "audio/wav" },
  "raw-24khz-16bit-mono-pcm": { container: "pcm", contentType: "audio/pcm" },
};

/** Azure Speech wants its key in `Ocp-Apim-Subscription-Key` and answers 401 with no body. */
export function checkSpeechKey(call: Call, apiKey: string | undefined): boolean {
  if (!apiKey || call.req.headers["ocp-apim-subscription-key"] === apiKey) return true;
  sendEmpty(call.res, 401);
  return false;
}

/**
 * POST /cognitiveservices/v1: Azure AI Speech text to speech. The body is SSML; anything
 * this cannot read gets 400 with an empty body, as Azure answers.
 */
export async function azureSpeech(call: Call): Promise<void> {
  const { req, res } = call;
  const format = OUTPUT_FORMATS[String(req.headers["x-microsoft-outputformat"] ?? "")];
  const isSsml = req.headers["content-type"]?.split(";")[0]?.trim() === "application/ssml+xml";
  if (!format || !isSsml || typeof call.body !== "string") return sendEmpty(res, 400);
  let ssml: ReturnType<typeof parseSsml>;
  try {
    ssml = parseSsml(call.body);
  } catch {
    return sendEmpty(res, 400);
  }
  const audio = demoAudio(format.container, ssml.text, speedOf(ssml.rate));
  await sendAudio(res, format.contentType, audio, call.fault, call.state);
}

/**
 * Reads the SSML a relay sends: `<speak version="1.0" xml:lang="…">` with one
 * `<voice name="…">`, an optional `<prosody rate="…">`, and the text (entities decoded,
 * tags removed, trimmed). Throws when one of those is missing. Tests use it on the
 * recorded request body.
 */
export function parseSsml(ssml: string): {
  lang: string;
  voice: string;
  rate: string | undefined;
  text: string;
} {
  const speak = /<speak\b([^>]*)>([\s\S]*)<\/speak>/.exec(ssml);
  if (!speak) throw new Error("SSML without a <speak> root");
  const speakAttributes = attributes(speak[1] ?? "");
  const lang = speakAttributes["xml:lang"];
  if (speakAttributes.version !== "1.0" || !lang) {
    throw new Error('<speak> needs version="1.0" and xml:lang');
  }
  const voices = [...(speak[2] ?? "").matchAll(/<voice\b([^>]*)>([\s\S]*?)<\/voice>/g)];
  const voice = voices[0];
  const name = attributes(voice?.[1] ?? "").name;
  if (voices.length !== 1 || !name) throw new Error("SSML needs exactly one <voice name>");
  const inner = voice?.[2] ?? "";
  const prosody = /<prosody\b([^>]*)>/.exec(inner);
  const text = unescapeXml(inner.replace(/<[^>]*>/g, "")).trim();
  if (!text) throw new Error("SSML without text");
  return { lang, voice: name, rate: prosody ? attributes(prosody[1] ?? "").rate : undefined, text };
}

function attributes(source: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of source.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    found[match[1] ?? ""] = unescapeXml(match[2] ?? match[3] ?? "");
  }
  return found;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes the five XML entities and numeric character references, in one pass. */
function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (entity, name: string) => {
    if (name.startsWith("#")) {
      const hex = name[1] === "x" || name[1] === "X";
      return String.fromCodePoint(Number.parseInt(name.slice(hex ? 2 : 1), hex ? 16 : 10));
    }
    return ENTITIES[name] ?? entity;
  });
}

/** A prosody rate such as "+50%" or "-25%" as a speed factor (1.5, 0.75); 1 otherwise. */
function speedOf(rate: string | undefined): number {
  const percent = rate ? /^([+-]?\d+(?:\.\d+)?)%$/.exec(rate)?.[1] : undefined;
  return percent === undefined ? 1 : Math.min(4, Math.max(0.25, 1 + Number(percent) / 100));
}
