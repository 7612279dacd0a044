import { InvalidRequest } from "../../../errors";
import type { ChannelRecord } from "../../../store/channels";
import { joinUrl, type UpstreamCall, type UpstreamHttpRequest } from "../adapter";
import { azureVoice, ssml } from "./ssml";

/** OpenAI response formats and the Azure Speech output format that gives each. */
const OUTPUT_FORMATS: Record<string, string> = {
  mp3: "audio-24khz-48kbitrate-mono-mp3",
  opus: "ogg-24khz-16bit-mono-opus",
  wav: "riff-24khz-16bit-mono-pcm",
  pcm: "raw-24khz-16bit-mono-pcm",
};

/**
 * The OpenAI speech request as SSML with the requested voice (e.g.
 * zh-CN-XiaoxiaoMultilingualNeural), the speed as a prosody rate, and the response format one
 * of Azure's output formats; the key in `ocp-apim-subscription-key`.
 */
export function azureSpeechRequest(
  channel: ChannelRecord,
  call: UpstreamCall,
): UpstreamHttpRequest {
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
}
