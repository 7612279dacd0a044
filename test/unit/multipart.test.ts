import { describe, expect, it } from "vitest";
import { attachment } from "../../shared/http/content-disposition";
import { ApiError } from "../../shared/http/errors";
import { readMultipart } from "../../shared/http/multipart";
import type { GatewayRequest } from "../../shared/http/types";

function request(body: Uint8Array | string, contentType: string): GatewayRequest {
  return {
    id: "req_test",
    method: "POST",
    path: "/v1/files",
    query: new URLSearchParams(),
    headers: { "content-type": contentType },
    body: typeof body === "string" ? Buffer.from(body, "latin1") : body,
    receivedAt: 0,
  };
}

/** Encodes a FormData the way fetch (and the OpenAI SDK) send it. */
async function encode(form: FormData): Promise<GatewayRequest> {
  const encoded = new Request("http://x", { method: "POST", body: form });
  return request(
    Buffer.from(await encoded.arrayBuffer()),
    encoded.headers.get("content-type") ?? "",
  );
}

/** One part written by hand, with the Content-Disposition parameters given. */
const handWritten = (disposition: string, content = "hello") =>
  request(
    `--XyZ\r\nContent-Disposition: form-data; ${disposition}\r\nContent-Type: text/plain\r\n\r\n${content}\r\n--XyZ--\r\n`,
    "multipart/form-data; boundary=XyZ",
  );

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).status).toBe(400);
  return error as ApiError;
}

describe("readMultipart (the platform's parser)", () => {
  it("reads text fields, repeated array fields and binary files byte for byte", async () => {
    const audio = new Uint8Array([0, 13, 10, 45, 45, 255, 13, 10, 45, 45, 88]);
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("timestamp_granularities[]", "word");
    form.append("timestamp_granularities[]", "segment");
    form.append("prompt", "naïve café");
    form.append("file", new Blob([audio], { type: "audio/wav" }), "speech.wav");
    const parsed = await readMultipart(await encode(form));
    expect(parsed.fields.get("model")).toEqual(["whisper-1"]);
    expect(parsed.fields.get("timestamp_granularities[]")).toEqual(["word", "segment"]);
    expect(parsed.fields.get("prompt")).toEqual(["naïve café"]);
    const file = parsed.files.get("file");
    expect(file?.filename).toBe("speech.wav");
    expect(file?.contentType).toBe("audio/wav");
    expect(Buffer.from(file?.data ?? []).equals(Buffer.from(audio))).toBe(true);
  });

  it("reads file names as fetch and browsers encode them: UTF-8, and %22, %0D, %0A", async () => {
    const form = new FormData();
    form.append("file", new Blob(["x"]), "résumé-файл.jsonl");
    form.append("other", new Blob(["y"]), 'a"b\r\n.jsonl');
    const parsed = await readMultipart(await encode(form));
    expect(parsed.files.get("file")?.filename).toBe("résumé-файл.jsonl");
    expect(parsed.files.get("other")?.filename).toBe('a"b\r\n.jsonl');
    expect(
      (await readMultipart(handWritten('name="file"; filename="a%22b"'))).files.get("file"),
    ).toMatchObject({ filename: 'a"b' });
  });

  it("refuses encodings form data does not use rather than misreading them", async () => {
    // The old hand parser read this name as `a\` and the file below as a text field.
    await refusal(readMultipart(handWritten('name="file"; filename="a\\"b"')));
    await refusal(readMultipart(handWritten(`name="file"; filename*=UTF-8''r%C3%A9sum%C3%A9`)));
  });

  it("takes a large binary file whole", async () => {
    const big = new Uint8Array(8 * 1024 * 1024).map((_, i) => (i * 31) & 255);
    const form = new FormData();
    form.append("purpose", "batch");
    form.append("file", new Blob([big]), "big.bin");
    const parsed = await readMultipart(await encode(form));
    expect(Buffer.from(parsed.files.get("file")?.data ?? []).equals(Buffer.from(big))).toBe(true);
    expect(parsed.fields.get("purpose")).toEqual(["batch"]);
  });

  it("answers 400 for a missing boundary, another content type, a truncated or empty body", async () => {
    const form = new FormData();
    form.append("file", new Blob(["hello world"]), "a.txt");
    const whole = await encode(form);
    const bytes = Buffer.from(whole.body);
    const contentType = whole.headers["content-type"] ?? "";
    const cases = [
      request(bytes, "multipart/form-data"),
      request(bytes, "application/json"),
      request(bytes, ""),
      request(bytes.subarray(0, bytes.length - 20), contentType),
      request(bytes.subarray(0, 10), contentType),
      request(new Uint8Array(0), contentType),
      request(bytes, "multipart/form-data; boundary=another"),
    ];
    for (const each of cases) await refusal(readMultipart(each));
  });
});

describe("attachment (Content-Disposition)", () => {
  const headerSafe = (value: string) => /^[\x20-\x7e]*$/.test(value);

  it("gives the exact name in filename* and an ASCII fallback in filename", () => {
    const header = attachment("résumé-файл.jsonl");
    expect(headerSafe(header)).toBe(true);
    expect(header).toBe(
      `attachment; filename="r_sum_-____.jsonl"; filename*=UTF-8''r%C3%A9sum%C3%A9-%D1%84%D0%B0%D0%B9%D0%BB.jsonl`,
    );
    const exact = /filename\*=UTF-8''(.*)$/.exec(header)?.[1] ?? "";
    expect(decodeURIComponent(exact)).toBe("résumé-файл.jsonl");
  });

  it("keeps quotes, backslashes, control characters and lone surrogates out of the header", () => {
    for (const name of ['a"b\r\n.jsonl', "a\\b\x00\x7f;c", "\ud800x", "", "it's (1)*.txt"]) {
      const header = attachment(name);
      expect(headerSafe(header)).toBe(true);
      const fallback = /filename="([^"]*)"/.exec(header)?.[1] ?? "";
      expect(fallback).not.toMatch(/["\\\r\n]/);
      expect(fallback.length).toBeGreaterThan(0);
      // What a client decodes from filename* is the name (lone surrogates become U+FFFD).
      const exact = /filename\*=UTF-8''([A-Za-z0-9%!._~-]*)$/.exec(header)?.[1];
      expect(decodeURIComponent(exact ?? "x")).toBe(name.replace("\ud800", "\ufffd"));
    }
  });
});
