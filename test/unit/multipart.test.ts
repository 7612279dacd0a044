import { describe, expect, it } from "vitest";
import { parseMultipart } from "../../shared/http/multipart";

/** Encodes a FormData the way fetch (and the OpenAI SDK) send it. */
async function encode(form: FormData): Promise<{ body: Buffer; boundary: string }> {
  const request = new Request("http://x", { method: "POST", body: form });
  const boundary = /boundary=(.+)$/.exec(request.headers.get("content-type") ?? "")?.[1] ?? "";
  return { body: Buffer.from(await request.arrayBuffer()), boundary };
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
