/** A 44-byte header for PCM WAV data of `dataBytes` bytes. */
export function wavHeader(dataBytes: number, sampleRate: number, bitsPerSample = 16): Buffer {
  const channels = 1;
  const blockAlign = (channels * bitsPerSample) / 8;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write("WAVE", 8, "latin1");
  header.write("fmt ", 12, "latin1");
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * blockAlign, 28); // byte rate
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(bitsPerSample, 34);
  header.write("data", 36, "latin1");
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/**
 * A valid 16 kHz mono 16-bit PCM WAV of `seconds` seconds (a quiet 440 Hz tone), for tests
 * that upload audio to the transcription endpoints.
 */
export function wavFile(seconds: number): Uint8Array {
  const sampleRate = 16_000;
  const samples = Math.round(seconds * sampleRate);
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    pcm.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)), i * 2);
  }
  return new Uint8Array(Buffer.concat([wavHeader(pcm.length, sampleRate), pcm]));
}

/**
 * The duration of a WAV file from its header (data chunk size / byte rate), walking the
 * RIFF chunks since `fmt ` and `data` need not be at fixed offsets. Undefined when the
 * bytes are not a WAV file this can read.
 */
export function wavDuration(bytes: Buffer): number | undefined {
  if (bytes.length < 12) return undefined;
  if (bytes.toString("latin1", 0, 4) !== "RIFF" || bytes.toString("latin1", 8, 12) !== "WAVE") {
    return undefined;
  }
  let byteRate: number | undefined;
  for (let pos = 12; pos + 8 <= bytes.length; ) {
    const id = bytes.toString("latin1", pos, pos + 4);
    const size = bytes.readUInt32LE(pos + 4);
    if (id === "fmt " && pos + 20 <= bytes.length) byteRate = bytes.readUInt32LE(pos + 16);
    if (id === "data") {
      if (!byteRate) return undefined;
      // A WAV written as a stream may leave the size unset (0 or 0xFFFFFFFF): use what is there.
      const dataBytes = size === 0 || size === 0xffffffff ? bytes.length - pos - 8 : size;
      return dataBytes / byteRate;
    }
    pos += 8 + size + (size % 2); // chunks are padded to an even size
  }
  return undefined;
}
