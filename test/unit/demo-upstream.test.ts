import { inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DemoUpstream,
  demoTokens,
  parseSsml,
  type RecordedForm,
  startDemoUpstream,
  wavDuration,
  wavFile,
} from "../../infra/local/demo-upstream";

const KEY = "sk-demo-test";
let upstream: DemoUpstream;

beforeAll(async () => {
  upstream = await startDemoUpstream({ apiKey: KEY });
});

afterAll(() => upstream.close());

const auth = { authorization: `Bearer ${KEY}` };

/** Response bodies are checked by `expect`, so the tests read them loosely. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Loose = any;

async function json(response: Response | Promise<Response>): Promise<Loose> {
  return (await response).json();
}

function post(path: string, body: unknown, headers: Record<string, string> = auth) {
  return fetch(`${upstream.baseUrl}${path}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function postForm(path: string, form: FormData, headers: Record<string, string> = auth) {
  return fetch(`${upstream.origin}${path}`, { method: "POST", headers, body: form });
}

function audioForm(fields: Record<string, string>, file?: { bytes: Uint8Array; name: string }) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  if (file) form.append("file", new Blob([file.bytes]), file.name);
  return form;
}

/** The `data:` events of an SSE body, JSON-parsed, and whether it ended with [DONE]. */
function sseEvents(text: string): { events: Record<string, unknown>[]; done: boolean } {
  const data = text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => block.slice("data: ".length));
  const done = data.at(-1) === "[DONE]";
  const events = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
  return { events, done };
}

function lastRequest() {
  const last = upstream.requests.at(-1);
  if (!last) throw new Error("no request recorded");
  return last;
}

async function expectError(response: Response, status: number, param: string | null) {
  expect(response.status).toBe(status);
  const body = (await json(response)) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({ type: expect.any(String), param });
  expect(body.error).toHaveProperty("code");
  expect(body.error.message).toEqual(expect.any(String));
}

describe("chat completions (unchanged)", () => {
  const messages = [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello there" },
  ];

  it("answers with the quoted message and the documented token numbers", async () => {
    const response = await post("/chat/completions", { model: "gpt-4o-mini", messages });
    const body = await json(response);
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "This is sluice's demo upstream. You said: Hello there",
          },
          finish_reason: "stop",
        },
      ],
      // "Be brief. Hello there" is 4 tokens, plus 3 per message; the reply is 9 pieces.
      usage: { prompt_tokens: 10, completion_tokens: 9, total_tokens: 19 },
    });
    expect(body.id).toMatch(/^chatcmpl-/);
  });

  it("streams one chunk per piece, truncated by max_tokens, with usage last", async () => {
    const response = await post("/chat/completions", {
      model: "gpt-4o-mini",
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 3,
    });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const { events, done } = sseEvents(await response.text());
    expect(done).toBe(true);
    const choices = events.map((e) => (e.choices as Record<string, unknown>[])[0]);
    expect(choices[0]).toMatchObject({ delta: { role: "assistant", content: "" } });
    expect(
      choices.slice(1, 4).map((c) => (c?.delta as { content?: string } | undefined)?.content),
    ).toEqual(["This", " is", " sluice's"]);
    expect(choices[4]).toMatchObject({ delta: {}, finish_reason: "length" });
    expect(events[5]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
    });
    expect(events).toHaveLength(6);
    expect(events[1]).toHaveProperty("usage", null);
  });

  it("checks the key", async () => {
    const response = await post("/chat/completions", { messages }, {});
    await expectError(response, 401, null);
  });

  it("caches prompts of 1,024 tokens or more as OpenAI does: the prefix seen before, in steps of 128", async () => {
    const words = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) => `w${from + i}`).join(" ");
    const usage = async (content: string, stream = false) => {
      const response = await post("/chat/completions", {
        model: "gpt-4o-mini",
        messages: [{ role: "user", content }],
        ...(stream && { stream: true, stream_options: { include_usage: true } }),
      });
      if (!stream) return (await json(response)).usage;
      return sseEvents(await response.text()).events.at(-1)?.usage;
    };
    const context = words(1_300);
    // First time: nothing cached, and no details (as before).
    const first = await usage(context);
    expect(first.prompt_tokens).toBe(1_303);
    expect(first).not.toHaveProperty("prompt_tokens_details");
    // Again with more after it: the 1,280 tokens (1,024 + 2 × 128) it shares are cached.
    expect(await usage(`${context} ${words(200, 5_000)}`, true)).toMatchObject({
      prompt_tokens: 1_503,
      prompt_tokens_details: { cached_tokens: 1_280 },
    });
    // Under 1,024 tokens, or another beginning: none.
    expect((await usage(words(1_000))).prompt_tokens_details).toBeUndefined();
    expect((await usage(`x ${context}`)).prompt_tokens_details).toBeUndefined();
  });
});

describe("GET /v1/models", () => {
  it("lists the models", async () => {
    const response = await fetch(`${upstream.baseUrl}/models`, { headers: auth });
    const body = await json(response);
    expect(body.data.map((m: { id: string }) => m.id)).toEqual(upstream.models);
  });
});

describe("POST /v1/completions", () => {
  it("answers a plain completion", async () => {
    const response = await post("/completions", {
      model: "gpt-3.5-turbo-instruct",
      prompt: "Say this is a test",
    });
    const body = await json(response);
    expect(body).toMatchObject({
      object: "text_completion",
      model: "gpt-3.5-turbo-instruct",
      choices: [
        {
          text: "This is sluice's demo upstream. You said: Say this is a test",
          index: 0,
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 12, total_tokens: 17 },
    });
    expect(body.id).toMatch(/^cmpl-/);
    expect(body.created).toEqual(expect.any(Number));
  });

  it("quotes the first prompt of an array and counts all of them", async () => {
    const response = await post("/completions", { model: "m", prompt: ["one two", "three"] });
    const body = await json(response);
    expect(body.choices[0].text).toBe("This is sluice's demo upstream. You said: one two");
    expect(body.usage.prompt_tokens).toBe(3);
  });

  it("echoes the prompt when asked", async () => {
    const response = await post("/completions", { model: "m", prompt: "Hi.", echo: true });
    const body = await json(response);
    expect(body.choices[0].text).toBe("Hi.This is sluice's demo upstream. You said: Hi.");
  });

  it("streams text chunks, a finish chunk, a usage chunk and [DONE]", async () => {
    const response = await post("/completions", {
      model: "m",
      prompt: "Hello",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 4,
    });
    const { events, done } = sseEvents(await response.text());
    expect(done).toBe(true);
    expect(events).toHaveLength(6);
    for (const event of events) expect(event.object).toBe("text_completion");
    expect(events.slice(0, 4).map((e) => (e.choices as { text: string }[])[0]?.text)).toEqual([
      "This",
      " is",
      " sluice's",
      " demo",
    ]);
    expect(events[0]?.choices).toEqual([
      { text: "This", index: 0, logprobs: null, finish_reason: null },
    ]);
    expect(events[4]?.choices).toEqual([
      { text: "", index: 0, logprobs: null, finish_reason: "length" },
    ]);
    expect(events[5]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 },
    });
  });

  it("leaves usage out on an omitUsage fault", async () => {
    upstream.enqueue({ omitUsage: true });
    const plain = await json(post("/completions", { model: "m", prompt: "x" }));
    expect(plain).not.toHaveProperty("usage");

    upstream.enqueue({ omitUsage: true });
    const streamed = await post("/completions", {
      model: "m",
      prompt: "x",
      stream: true,
      stream_options: { include_usage: true },
    });
    const { events } = sseEvents(await streamed.text());
    expect(events.every((e) => !("usage" in e))).toBe(true);
  });

  it("drops the stream on a cut fault, as chat does", async () => {
    upstream.enqueue({ cutAfterChunks: 2 });
    const response = await post("/completions", { model: "m", prompt: "x", stream: true });
    await expect(response.text()).rejects.toThrow();
  });

  it("holds the stream on a pause fault until it is resumed", async () => {
    let resume!: () => void;
    upstream.enqueue({ pauseAfterChunks: 1, resume: new Promise<void>((r) => (resume = r)) });
    const response = await post("/completions", { model: "m", prompt: "x", stream: true });
    const reader = response.body?.getReader();
    await reader?.read();
    await expect.poll(() => upstream.paused).toBe(true);
    resume();
    let text = "";
    for (;;) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toContain("data: [DONE]");
    expect(upstream.paused).toBe(false);
  });

  it("requires a prompt", async () => {
    await expectError(await post("/completions", { model: "m" }), 400, "prompt");
  });
});

describe("POST /v1/embeddings", () => {
  it("returns deterministic unit vectors of 8 floats", async () => {
    const response = await post("/embeddings", {
      model: "text-embedding-3-small",
      input: ["hello world", "other"],
    });
    const body = await json(response);
    expect(body).toMatchObject({
      object: "list",
      model: "text-embedding-3-small",
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
    expect(body.data).toHaveLength(2);
    expect(body.data[0]).toMatchObject({ object: "embedding", index: 0 });
    const [first, second] = body.data.map((d: { embedding: number[] }) => d.embedding);
    expect(first).toHaveLength(8);
    expect(Math.hypot(...first)).toBeCloseTo(1, 5);
    expect(first).not.toEqual(second);

    const again = await json(post("/embeddings", { model: "x", input: "hello world" }));
    expect(again.data[0].embedding).toEqual(first);
  });

  it("encodes base64 as little-endian float32, the same numbers as float", async () => {
    const input = "round trip";
    const floats = await json(post("/embeddings", { model: "m", input, dimensions: 5 }));
    const encoded = await json(
      post("/embeddings", { model: "m", input, dimensions: 5, encoding_format: "base64" }),
    );
    const bytes = Buffer.from(encoded.data[0].embedding, "base64");
    expect(bytes.length).toBe(20);
    const decoded = Array.from({ length: 5 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).toEqual(floats.data[0].embedding);
  });

  it("accepts token arrays and counts their length", async () => {
    const one = await json(post("/embeddings", { model: "m", input: [1, 2, 3] }));
    expect(one.data).toHaveLength(1);
    expect(one.usage.prompt_tokens).toBe(3);
    const many = await json(post("/embeddings", { model: "m", input: [[1, 2], [3]] }));
    expect(many.data).toHaveLength(2);
    expect(many.usage.prompt_tokens).toBe(3);
  });

  it("answers an injected failure with OpenAI's error envelope", async () => {
    upstream.enqueue({ status: 429, message: "Slow down" });
    const response = await post("/embeddings", { model: "m", input: "x" });
    expect(response.status).toBe(429);
    expect(await json(response)).toEqual({
      error: { message: "Slow down", type: "requests", param: null, code: null },
    });
  });

  it("rejects a missing input", async () => {
    await expectError(await post("/embeddings", { model: "m" }), 400, "input");
  });
});

describe("POST /v1/edits", () => {
  it("edits the input", async () => {
    const response = await post("/edits", {
      model: "text-davinci-edit-001",
      input: "What day of the wek is it?",
      instruction: "Fix the spelling mistakes",
    });
    const body = await json(response);
    expect(body).toMatchObject({
      object: "edit",
      created: expect.any(Number),
      choices: [
        {
          text: "What day of the wek is it? (edited: Fix the spelling mistakes)",
          index: 0,
        },
      ],
      usage: { prompt_tokens: 11, completion_tokens: 12, total_tokens: 23 },
    });
  });
});

describe("POST /v1/images/generations", () => {
  it("returns URLs that serve the PNG", async () => {
    const response = await post("/images/generations", { prompt: "a red fox", n: 2 });
    const body = await json(response);
    expect(body.created).toEqual(expect.any(Number));
    expect(body.data).toHaveLength(2);
    const [first, second] = body.data.map((d: { url: string }) => d.url);
    expect(first).toMatch(new RegExp(`^${upstream.origin}/images/[0-9a-f]+\\.png$`));
    expect(first).not.toBe(second);
    expect(body.data[0]).not.toHaveProperty("revised_prompt");

    const image = await fetch(first);
    expect(image.headers.get("content-type")).toBe("image/png");
    const png = Buffer.from(await image.arrayBuffer());
    expect(png.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
    // The IDAT chunk inflates to one scanline of one RGB pixel.
    const idat = png.indexOf("IDAT");
    const length = png.readUInt32BE(idat - 4);
    expect(inflateSync(png.subarray(idat + 4, idat + 4 + length))).toHaveLength(4);
  });

  it("returns the same image as b64_json, with dall-e-3's revised prompt", async () => {
    const request = { prompt: "a red fox", model: "dall-e-3" };
    const byUrl = await json(post("/images/generations", request));
    const inline = await json(
      post("/images/generations", { ...request, response_format: "b64_json" }),
    );
    expect(inline.data[0].revised_prompt).toEqual(expect.any(String));
    const png = Buffer.from(await (await fetch(byUrl.data[0].url)).arrayBuffer());
    expect(inline.data[0].b64_json).toBe(png.toString("base64"));
  });

  it("requires a prompt", async () => {
    await expectError(await post("/images/generations", { n: 1 }), 400, "prompt");
  });
});

describe("POST /v1/audio/transcriptions and translations", () => {
  it("reads a WAV file's duration from its header", async () => {
    const wav = wavFile(2.5);
    expect(wavDuration(Buffer.from(wav))).toBe(2.5);
    const unsized = Buffer.from(wav);
    unsized.writeUInt32LE(0xffffffff, 40); // a streamed WAV's unknown data size
    expect(wavDuration(unsized)).toBe(2.5);
    const response = await postForm(
      "/v1/audio/transcriptions",
      audioForm({ model: "whisper-1" }, { bytes: wav, name: "speech.wav" }),
    );
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await json(response)).toEqual({ text: "Transcribed speech.wav (2.50 s)" });
  });

  it("records the parsed form, binary safe", async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) % 256);
    const response = await postForm(
      "/v1/audio/transcriptions",
      audioForm(
        { model: "whisper-1", language: "en", prompt: "Ünïcode – ok" },
        { bytes, name: 'my "clip".mp3' },
      ),
    );
    // 70,000 bytes at 128 kbit/s.
    expect((await json(response)).text).toBe('Transcribed my "clip".mp3 (4.38 s)');
    const recorded = lastRequest().body as RecordedForm;
    expect(recorded).toEqual({
      fields: { model: "whisper-1", language: "en", prompt: "Ünïcode – ok" },
      files: {
        file: { filename: 'my "clip".mp3', contentType: "application/octet-stream", bytes: 70_000 },
      },
    });
  });

  it("reports usage in tokens for gpt-4o models", async () => {
    const response = await postForm(
      "/v1/audio/transcriptions",
      audioForm({ model: "gpt-4o-transcribe" }, { bytes: wavFile(3), name: "a.wav" }),
    );
    expect(await json(response)).toEqual({
      text: "Transcribed a.wav (3.00 s)",
      usage: {
        type: "tokens",
        input_tokens: 50,
        input_token_details: { text_tokens: 0, audio_tokens: 50 },
        output_tokens: 4,
        total_tokens: 54,
      },
    });
  });

  it("answers in each response format", async () => {
    const file = { bytes: wavFile(1.25), name: "a.wav" };
    const as = async (format: string) => {
      const response = await postForm(
        "/v1/audio/transcriptions",
        audioForm({ model: "whisper-1", response_format: format }, file),
      );
      return { type: response.headers.get("content-type"), text: await response.text() };
    };
    const text = "Transcribed a.wav (1.25 s)";
    expect(await as("text")).toEqual({ type: "text/plain; charset=utf-8", text: `${text}\n` });
    expect(await as("srt")).toEqual({
      type: "text/plain; charset=utf-8",
      text: `1\n00:00:00,000 --> 00:00:01,250\n${text}\n\n`,
    });
    expect(await as("vtt")).toEqual({
      type: "text/vtt; charset=utf-8",
      text: `WEBVTT\n\n00:00:00.000 --> 00:00:01.250\n${text}\n\n`,
    });
    const verbose = JSON.parse((await as("verbose_json")).text);
    expect(verbose).toMatchObject({
      task: "transcribe",
      language: "english",
      duration: 1.25,
      text,
      segments: [{ id: 0, seek: 0, start: 0, end: 1.25, text, tokens: [], temperature: 0 }],
    });
  });

  it("translates", async () => {
    const response = await postForm(
      "/v1/audio/translations",
      audioForm(
        { model: "whisper-1", response_format: "verbose_json" },
        {
          bytes: wavFile(1),
          name: "fr.wav",
        },
      ),
    );
    expect(await json(response)).toMatchObject({
      task: "translate",
      text: "Translated fr.wav (1.00 s)",
    });
  });

  it("requires the file and the model", async () => {
    await expectError(
      await postForm("/v1/audio/transcriptions", audioForm({ model: "whisper-1" })),
      400,
      "file",
    );
    await expectError(
      await postForm(
        "/v1/audio/transcriptions",
        audioForm({}, { bytes: wavFile(0.1), name: "a.wav" }),
      ),
      400,
      "model",
    );
  });
});

describe("POST /v1/audio/speech", () => {
  async function speak(body: Record<string, unknown>) {
    const response = await post("/audio/speech", { model: "tts-1", voice: "alloy", ...body });
    return {
      response,
      type: response.headers.get("content-type"),
      bytes: Buffer.from(await response.arrayBuffer()),
    };
  }

  it("streams mp3 bytes that grow with the input", async () => {
    const short = await speak({ input: "Hi" });
    expect(short.type).toBe("audio/mpeg");
    expect(short.response.headers.get("transfer-encoding")).toBe("chunked");
    expect(short.bytes.subarray(0, 3).toString("latin1")).toBe("ID3");
    const long = await speak({ input: "Hi there, this is longer" });
    expect(long.bytes.length).toBeGreaterThan(short.bytes.length);
    expect((await speak({ input: "Hi" })).bytes).toEqual(short.bytes);
  });

  it("answers each format in its container", async () => {
    const wav = await speak({ input: "Hello", response_format: "wav" });
    expect(wav.type).toBe("audio/wav");
    expect(wav.bytes.subarray(0, 4).toString("latin1")).toBe("RIFF");
    expect(wav.bytes.subarray(8, 12).toString("latin1")).toBe("WAVE");
    expect(wavDuration(wav.bytes)).toBeCloseTo(0.25, 5); // 5 characters × 50 ms
    expect((await speak({ input: "Hello", response_format: "wav", speed: 2 })).bytes.length).toBe(
      44 + (wav.bytes.length - 44) / 2,
    );
    const opus = await speak({ input: "Hello", response_format: "opus" });
    expect([opus.type, opus.bytes.subarray(0, 4).toString("latin1")]).toEqual([
      "audio/opus",
      "OggS",
    ]);
    const flac = await speak({ input: "Hello", response_format: "flac" });
    expect([flac.type, flac.bytes.subarray(0, 4).toString("latin1")]).toEqual([
      "audio/flac",
      "fLaC",
    ]);
    expect((await speak({ input: "Hello", response_format: "aac" })).type).toBe("audio/aac");
    expect((await speak({ input: "Hello", response_format: "pcm" })).type).toBe("audio/pcm");
  });

  it("cuts the audio stream on a cut fault", async () => {
    upstream.enqueue({ cutAfterChunks: 1 });
    const response = await post("/audio/speech", { model: "tts-1", voice: "alloy", input: "Hi" });
    await expect(response.arrayBuffer()).rejects.toThrow();
  });

  it("requires input and voice", async () => {
    await expectError(
      await post("/audio/speech", { model: "tts-1", voice: "alloy" }),
      400,
      "input",
    );
    await expectError(await post("/audio/speech", { model: "tts-1", input: "x" }), 400, "voice");
  });
});

describe("POST /v1/moderations", () => {
  it("flags violence and nothing else", async () => {
    const response = await post("/moderations", {
      model: "omni-moderation-latest",
      input: ["I will kill the process", "a calm sentence"],
    });
    const body = await json(response);
    expect(body.id).toMatch(/^modr-/);
    expect(body.model).toBe("omni-moderation-latest");
    const [violent, calm] = body.results;
    expect(violent.flagged).toBe(true);
    expect(violent.categories.violence).toBe(true);
    expect(violent.categories.hate).toBe(false);
    expect(Object.keys(violent.categories).length).toBeGreaterThanOrEqual(11);
    expect(Object.keys(violent.category_scores)).toEqual(Object.keys(violent.categories));
    expect(calm.flagged).toBe(false);
    expect(Object.values(calm.categories).every((v) => v === false)).toBe(true);
  });
});

describe("Azure OpenAI deployment paths", () => {
  const azure = (operation: string, query = "?api-version=2024-10-21") =>
    `${upstream.origin}/openai/deployments/my-gpt4o/${operation}${query}`;

  it("answers chat with the deployment as the model and records the full path", async () => {
    const response = await fetch(azure("chat/completions"), {
      method: "POST",
      headers: { "api-key": KEY, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }] }),
    });
    const body = await json(response);
    expect(body.model).toBe("my-gpt4o");
    expect(body.choices[0].message.content).toBe("This is sluice's demo upstream. You said: Hi");
    expect(lastRequest().path).toBe(
      "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21",
    );
    expect(lastRequest().body).toEqual({ messages: [{ role: "user", content: "Hi" }] });
  });

  it("answers embeddings, transcriptions and speech too", async () => {
    const headers = { "api-key": KEY, "content-type": "application/json" };
    const embedding = await fetch(azure("embeddings"), {
      method: "POST",
      headers,
      body: JSON.stringify({ input: "x" }),
    });
    expect((await json(embedding)).model).toBe("my-gpt4o");

    const transcript = await fetch(azure("audio/transcriptions"), {
      method: "POST",
      headers: { "api-key": KEY },
      body: audioForm({}, { bytes: wavFile(1), name: "a.wav" }),
    });
    // The model is the deployment, my-gpt4o, so there is no usage.
    expect(await json(transcript)).toEqual({ text: "Transcribed a.wav (1.00 s)" });

    const audio = await fetch(azure("audio/speech"), {
      method: "POST",
      headers,
      body: JSON.stringify({ input: "Hi", voice: "alloy" }),
    });
    expect(audio.headers.get("content-type")).toBe("audio/mpeg");
  });

  it("requires api-version", async () => {
    const response = await fetch(azure("chat/completions", ""), {
      method: "POST",
      headers: { "api-key": KEY, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }] }),
    });
    expect(response.status).toBe(404);
    expect(await json(response)).toEqual({
      error: { code: "404", message: "Resource not found" },
    });
  });

  it("requires api-key, not Authorization", async () => {
    const body = JSON.stringify({ messages: [{ role: "user", content: "Hi" }] });
    const bearer = await fetch(azure("chat/completions"), {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body,
    });
    expect(bearer.status).toBe(401);
    expect((await json(bearer)).error.code).toBe("401");
    const wrong = await fetch(azure("chat/completions"), {
      method: "POST",
      headers: { "api-key": "nope", "content-type": "application/json" },
      body,
    });
    expect(wrong.status).toBe(401);
  });

  it("does not serve operations Azure does not have", async () => {
    const response = await fetch(azure("moderations"), {
      method: "POST",
      headers: { "api-key": KEY, "content-type": "application/json" },
      body: JSON.stringify({ input: "x" }),
    });
    expect(response.status).toBe(404);
  });
});

describe("Azure Speech text to speech", () => {
  const ssml =
    '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="zh-CN">' +
    '<voice name="zh-CN-XiaoxiaoMultilingualNeural"><prosody rate="+50%">' +
    "Tom &amp; Jerry say &lt;hi&gt; &quot;twice&quot; &apos;now&apos;</prosody></voice></speak>";

  function synthesize(
    body: string,
    headers: Record<string, string> = {},
    format = "riff-24khz-16bit-mono-pcm",
  ) {
    return fetch(`${upstream.origin}/cognitiveservices/v1`, {
      method: "POST",
      headers: {
        "ocp-apim-subscription-key": KEY,
        "x-microsoft-outputformat": format,
        "content-type": "application/ssml+xml",
        ...headers,
      },
      body,
    });
  }

  it("speaks valid SSML and records it as text", async () => {
    const response = await synthesize(ssml);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("audio/wav");
    const audio = Buffer.from(await response.arrayBuffer());
    expect(audio.subarray(0, 4).toString("latin1")).toBe("RIFF");
    expect(lastRequest().body).toBe(ssml);
    expect(parseSsml(lastRequest().body as string)).toEqual({
      lang: "zh-CN",
      voice: "zh-CN-XiaoxiaoMultilingualNeural",
      rate: "+50%",
      text: `Tom & Jerry say <hi> "twice" 'now'`,
    });
  });

  it("answers in each output format's content type", async () => {
    const types = {
      "audio-24khz-48kbitrate-mono-mp3": "audio/mpeg",
      "audio-24khz-160kbitrate-mono-mp3": "audio/mpeg",
      "ogg-24khz-16bit-mono-opus": "audio/ogg",
      "webm-24khz-16bit-mono-opus": "audio/webm",
      "raw-24khz-16bit-mono-pcm": "audio/pcm",
    };
    for (const [format, type] of Object.entries(types)) {
      const response = await synthesize(ssml, {}, format);
      expect(response.headers.get("content-type")).toBe(type);
      await response.arrayBuffer();
    }
  });

  it("answers 401 with no body for a wrong key", async () => {
    const response = await synthesize(ssml, { "ocp-apim-subscription-key": "nope" });
    expect(response.status).toBe(401);
    expect(await response.text()).toBe("");
  });

  it("answers 400 with no body for an unknown format or invalid SSML", async () => {
    const unknownFormat = await synthesize(ssml, {}, "audio-48khz-192kbitrate-mono-mp3");
    expect([unknownFormat.status, await unknownFormat.text()]).toEqual([400, ""]);
    for (const bad of [
      "just text",
      '<speak xml:lang="en-US"><voice name="en-US-AvaNeural">Hi</voice></speak>',
      '<speak version="1.0"><voice name="en-US-AvaNeural">Hi</voice></speak>',
      '<speak version="1.0" xml:lang="en-US">Hi</speak>',
      '<speak version="1.0" xml:lang="en-US"><voice name="en-US-AvaNeural"> </voice></speak>',
    ]) {
      const response = await synthesize(bad);
      expect([response.status, await response.text()]).toEqual([400, ""]);
    }
  });

  it("parses SSML without prosody", () => {
    expect(
      parseSsml(
        `<speak version='1.0' xml:lang='en-US'><voice name='en-US-AvaNeural'> Hello </voice></speak>`,
      ),
    ).toEqual({ lang: "en-US", voice: "en-US-AvaNeural", rate: undefined, text: "Hello" });
  });
});

describe("faults on every endpoint", () => {
  it("delays the answer", async () => {
    upstream.enqueue({ delayMs: 150 });
    const started = Date.now();
    await post("/moderations", { input: "x" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("fails a multipart request with the envelope", async () => {
    upstream.enqueue({ status: 500 });
    const response = await postForm(
      "/v1/audio/transcriptions",
      audioForm({ model: "whisper-1" }, { bytes: wavFile(0.1), name: "a.wav" }),
    );
    await expectError(response, 500, null);
  });

  it("leaves out transcription usage on omitUsage", async () => {
    upstream.enqueue({ omitUsage: true });
    const response = await postForm(
      "/v1/audio/transcriptions",
      audioForm({ model: "gpt-4o-mini-transcribe" }, { bytes: wavFile(1), name: "a.wav" }),
    );
    expect(await json(response)).toEqual({ text: "Transcribed a.wav (1.00 s)" });
  });
});

it("counts demo tokens as words with their leading space", () => {
  expect(demoTokens("Hello  there, you")).toEqual(["Hello", "  there,", " you"]);
});
