import { InvalidRequest } from "../../errors";
import { type ChannelAdapter, joinUrl } from "./adapter";

/** OpenAI response formats and the Azure Speech output format that gives each. */
const OUTPUT_FORMATS: Record<string, string> = {
  mp3: "audio-24khz-48kbitrate-mono-mp3",
  opus: "ogg-24khz-16bit-mono-opus",
  wav: "riff-24khz-16bit-mono-pcm",
  pcm: "raw-24khz-16bit-mono-pcm",
};

/** OpenAI's voice names mean nothing to Azure; they get a multilingual neural voice. */
export const AZURE_DEFAULT_VOICE = "en-US-AvaMultilingualNeural";

/**
 * Azure AI Speech text to speech (model `tts-az-1` in seed 000): the OpenAI speech request
 * becomes SSML with the requested voice (e.g. zh-CN-XiaoxiaoMultilingualNeural), the speed
 * becomes a prosody rate, and the response format one of Azure's output formats. `baseUrl`
 * is the region's endpoint, e.g. https://eastus.tts.speech.microsoft.com.
 */
export const azureSpeechAdapter: ChannelAdapter = {
  serves: (path) => path === "/audio/speech",
  request(channel, call) {
    const body = call.json ?? {};
    const format = typeof body.response_format === "string" ? body.response_format : "mp3";
    const outputFormat = OUTPUT_FORMATS[format];
    if (!outputFormat) {
      throw new InvalidRequest(
        `response_format ${format} is not available for ${call.model}; use one of ${Object.keys(OUTPUT_FORMATS).join(", ")}.`,
        "response_format",
      );
    }
    const voice = azureVoice(body.voice);
    return {
      url: joinUrl(channel.baseUrl, "/cognitiveservices/v1"),
      method: "POST",
      headers: {
        "content-type": "application/ssml+xml",
        "x-microsoft-outputformat": outputFormat,
        "ocp-apim-subscription-key": channel.key,
        "user-agent": "sluice",
      },
      body: ssml(String(body.input ?? ""), voice, typeof body.speed === "number" ? body.speed : 1),
    };
  },
};

/**
 * Azure voice names look like `zh-CN-XiaoxiaoMultilingualNeural`, `zh-CN-henan-YundengNeural`
 * or `en-US-Ava:DragonHDLatestNeural`; anything else (OpenAI's `alloy`…) gets the default.
 * The pattern also keeps the name safe inside the SSML attribute.
 */
export function azureVoice(voice: unknown): string {
  return typeof voice === "string" &&
    /^[a-z]{2,3}-[A-Za-z]{2,4}(-[A-Za-z0-9]+)+(:[A-Za-z0-9]+)?$/.test(voice)
    ? voice
    : AZURE_DEFAULT_VOICE;
}

/** speed 1.5 → "+50%", 0.75 → "-25%". */
export function prosodyRate(speed: number): string {
  const percent = Math.round((speed - 1) * 100);
  return `${percent >= 0 ? "+" : ""}${percent}%`;
}

export function ssml(text: string, voice: string, speed: number): string {
  const lang = voice.split("-").slice(0, 2).join("-");
  return (
    `<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="${lang}">` +
    `<voice name="${voice}"><prosody rate="${prosodyRate(speed)}">${escapeXml(text)}</prosody></voice></speak>`
  );
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`,
  );
}
