/**
 * How long an uploaded recording is, for speech-to-text holds. WAV files say so exactly in
 * their header; for compressed formats only an upper bound is known before transcription:
 * Opus, the leanest speech codec the APIs take, goes down to 6 kbit/s, so bytes / 750
 * seconds is at least the length.
 */
export function audioSecondsAtMost(data: Uint8Array): number {
  return wavSeconds(data) ?? Math.ceil(data.byteLength / 750);
}

/** A WAV file's exact length, from its byte rate and data chunk; undefined if not a WAV. */
export function wavSeconds(data: Uint8Array): number | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const ascii = (offset: number) => String.fromCharCode(...data.subarray(offset, offset + 4));
  if (data.byteLength < 44 || ascii(0) !== "RIFF" || ascii(8) !== "WAVE") return undefined;
  let byteRate: number | undefined;
  let offset = 12;
  while (offset + 8 <= data.byteLength) {
    const id = ascii(offset);
    const size = view.getUint32(offset + 4, true);
    if (id === "fmt " && offset + 16 <= data.byteLength)
      byteRate = view.getUint32(offset + 16, true);
    if (id === "data") {
      if (!byteRate) return undefined;
      // Streamed WAVs may leave the size unset (0 or 0xFFFFFFFF): use what is there.
      const bytes = size === 0 || size === 0xffffffff ? data.byteLength - offset - 8 : size;
      return bytes / byteRate;
    }
    offset += 8 + size + (size % 2);
  }
  return undefined;
}
