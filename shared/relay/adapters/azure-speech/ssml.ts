/** OpenAI's voice names mean nothing to Azure; they get a multilingual neural voice. */
export const AZURE_DEFAULT_VOICE = "en-US-AvaMultilingualNeural";

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
