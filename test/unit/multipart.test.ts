import { describe, expect, it } from "vitest";
import { audioSecondsAtMost, wavSeconds } from "../../shared/billing/audio-duration";
import { parseMultipart } from "../../shared/http/multipart";

/** Encodes a FormData the way fetch (and the OpenAI SDK) send it. */
async function encode(form: FormData): Promise<{ body: Buffer; boundary: string }> {
  const request = new Request("http://x", { method: "POST", body: form });
  const boundary = /boundary=(.+)$/.exec(request.headers.get("content-type") ?? "")?.[1] ?? "";
  return { body: Buffer.from(await request.arrayBuffer()), boundary };
}

function wav(seconds: number, rate = 16_000): Uint8Array {
  const dataBytes = Math.round(seconds * rate) * 2;
  const buffer = Buffer.alloc(44 + dataBytes);
  buffer.write("RIFF", 0);
  buffer.writeUInt32LE(36 + dataBytes, 4);
  buffer.write("WAVE", 8);
  buffer.write("fmt ", 12);
  buffer.writeUInt32LE(16, 16);
  buffer.writeUInt16LE(1, 20);
  buffer.writeUInt16LE(1, 22);
  buffer.writeUInt32LE(rate, 24);
  buffer.writeUInt32LE(rate * 2, 28);
  buffer.writeUInt16LE(2, 32);
  buffer.writeUInt16LE(16, 34);
  buffer.write("data", 36);
  buffer.writeUInt32LE(dataBytes, 40);
  return new Uint8Array(buffer);
}

describe("parseMultipart", () => {
  it("reads text fields, repeated array fields and binary files byte for byte", async () => {
    const audio = new Uint8Array([0, 13, 10, 45, 45, 255, 13, 10]);
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("timestamp_granularities[]", "word");
    form.append("timestamp_granularities[]", "segment");
    form.append("prompt", "naïve café");
    form.append("file", new Blob([audio], { type: "audio/wav" }), "speech.wav");
    const { body, boundary } = await encode(form);
    const parsed = parseMultipart(body, boundary);
    expect(parsed.fields.get("model")).toEqual(["whisper-1"]);
    expect(parsed.fields.get("timestamp_granularities[]")).toEqual(["word", "segment"]);
    expect(parsed.fields.get("prompt")).toEqual(["naïve café"]);
    const file = parsed.files.get("file");
    expect(file?.filename).toBe("speech.wav");
    expect(file?.contentType).toBe("audio/wav");
    expect(Buffer.from(file?.data ?? []).equals(Buffer.from(audio))).toBe(true);
  });

  it("refuses a body without parts", () => {
    expect(() => parseMultipart(Buffer.from("nothing here"), "xyz")).toThrow(/no parts/);
  });
});

describe("audio duration", () => {
  it("reads a WAV's exact length from its header", () => {
    expect(wavSeconds(wav(2.5))).toBe(2.5);
    expect(audioSecondsAtMost(wav(3))).toBe(3);
  });

  it("bounds other formats from above by their size", () => {
    const mp3 = new Uint8Array(32_000);
    expect(wavSeconds(mp3)).toBeUndefined();
    // 32 kB at 128 kbit/s is 2 s; the bound assumes Opus's lowest rate, 6 kbit/s.
    expect(audioSecondsAtMost(mp3)).toBe(43);
  });
});
