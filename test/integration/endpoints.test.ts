import OpenAI, { type APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSsml, wavFile } from "../../infra/local/demo-upstream";
import { concat, oggOpus, oggPage, wav } from "../fixtures/audio-files";
import { lastRequestBody, type UpstreamFixture, uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  setPrices,
  sluice,
  type TestUser,
} from "./support";

let upstream: UpstreamFixture;
let user: TestUser & { secret: string };
let client: OpenAI;
const models = {
  chat: uniqueModel("chat"),
  instruct: uniqueModel("instruct"),
  embedding: uniqueModel("embedding"),
  image: uniqueModel("image"),
  whisper: uniqueModel("whisper"),
  /** Reports no duration: billed from the file. */
  plainStt: uniqueModel("stt"),
  /** Reports token usage, as gpt-4o-transcribe does. */
  tokenStt: uniqueModel("gpt-4o-transcribe"),
  tts: uniqueModel("tts"),
  moderation: uniqueModel("moderation"),
  edit: uniqueModel("edit"),
};

beforeAll(async () => {
  ({ upstream } = await createFixtureChannel({ models: Object.values(models), price: null }));
  await setPrices({
    [models.chat]: { input: 10, output: 30 },
    [models.instruct]: { input: 10, output: 30 },
    [models.embedding]: { input: 10 },
    [models.edit]: { input: 10, output: 30 },
    [models.image]: {
      image: {
        "1024x1024": { standard: 0.04, hd: 0.08 },
        "1792x1024": { standard: 0.08, hd: 0.12 },
      },
    },
    [models.whisper]: { stt_per_minute: 0.006 },
    [models.plainStt]: { stt_per_minute: 0.006 },
    [models.tokenStt]: { input: 6, output: 10 },
    [models.tts]: { tts_per_million_chars: 15 },
    [models.moderation]: { free: true },
  });
  user = await createUserWithKey();
  client = openai(user.secret);
});
afterAll(() => upstream.close());

/** The user's log lines for one model, once settlement has written them. */
async function logsFor(model: string, count = 1) {
  return eventually(
    async () =>
      (await api(user.accessToken, "GET", "/api/log/self?size=200")).body.data.filter(
        (l: Json) => l.model === model,
      ),
    (lines: Json[]) => lines.length >= count,
  );
}

describe("POST /v1/completions", () => {
  it("relays a plain completion and bills its usage", async () => {
    const completion = await client.completions.create({
      model: models.instruct,
      prompt: "Say this is a test",
      max_tokens: 50,
    });
    expect(completion.object).toBe("text_completion");
    expect(completion.choices[0]?.text).toBe(
      "This is sluice's demo upstream. You said: Say this is a test",
    );
    const [line] = await logsFor(models.instruct);
    expect(line).toMatchObject({
      endpoint: "/v1/completions",
      prompt_tokens: completion.usage?.prompt_tokens,
    });
    expect(line.quota).toBe(
      Math.ceil(
        ((completion.usage?.prompt_tokens ?? 0) * 10 +
          (completion.usage?.completion_tokens ?? 0) * 30) /
          2,
      ),
    );
  });

  it("streams a completion", async () => {
    let text = "";
    for await (const chunk of await client.completions.create({
      model: models.instruct,
      prompt: "hi",
      stream: true,
    })) {
      text += chunk.choices[0]?.text ?? "";
    }
    expect(text).toBe("This is sluice's demo upstream. You said: hi");
  });

  it("caps n at the configured maximum (1, as seed 002 states)", async () => {
    const completion = await client.completions.create({
      model: models.instruct,
      prompt: "hi",
      n: 3,
    });
    expect(lastRequestBody(upstream).n).toBe(1);
    expect(completion.choices).toHaveLength(1);
  });
});

describe("Reduce-Stream: true (seed 002)", () => {
  async function reduced(path: string, body: Record<string, unknown>): Promise<string[]> {
    const response = await fetch(`${sluice.url}/v1${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${user.secret}`,
        "content-type": "application/json",
        "Reduce-Stream": "true",
      },
      body: JSON.stringify({ ...body, stream: true }),
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    return (await response.text()).split("\n\n").filter(Boolean);
  }

  it("sends each chat event as a JSON array of the choices' deltas, ending with [DONE]", async () => {
    const events = await reduced("/chat/completions", {
      model: models.chat,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(events[0]).toBe('data: [{"role":"assistant","content":""}]');
    expect(events[1]).toBe('data: [{"content":"This"}]');
    expect(events.at(-2)).toBe("data: [{}]");
    expect(events.at(-1)).toBe("data: [DONE]");
    const text = events
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice(6))[0].content ?? "")
      .join("");
    expect(text).toBe("This is sluice's demo upstream. You said: hi");
  });

  it("sends each completion event as a JSON array of texts", async () => {
    const events = await reduced("/completions", { model: models.instruct, prompt: "yo" });
    expect(events[0]).toBe('data: ["This"]');
    expect(events.at(-2)).toBe('data: [""]');
    expect(events.at(-1)).toBe("data: [DONE]");
  });
});

describe("POST /v1/embeddings", () => {
  it("embeds a string and an array, with float and base64 passed through", async () => {
    const single = await client.embeddings.create({
      model: models.embedding,
      input: "hello",
      encoding_format: "float",
    });
    expect(single.data).toHaveLength(1);
    expect(single.data[0]?.embedding.every((x) => typeof x === "number")).toBe(true);
    expect(lastRequestBody(upstream).encoding_format).toBe("float");
    // The SDK asks for base64 by default and decodes it: same vectors.
    const batch = await client.embeddings.create({
      model: models.embedding,
      input: ["hello", "world"],
    });
    expect(lastRequestBody(upstream).encoding_format).toBe("base64");
    expect(batch.data).toHaveLength(2);
    expect(batch.data[0]?.embedding).toEqual(single.data[0]?.embedding.map((x) => Math.fround(x)));
    const [line] = await logsFor(models.embedding);
    expect(line.completion_tokens).toBe(0);
    expect(line.prompt_tokens).toBeGreaterThan(0);
  });

  it("refuses a missing input with 400", async () => {
    const error = await client.embeddings
      .create({ model: models.embedding } as never)
      .catch((e: APIError) => e);
    expect((error as APIError).status).toBe(400);
    expect((error as APIError).param).toBe("input");
  });
});

describe("POST /v1/edits", () => {
  it("turns an edit into a chat completion and answers in the edits shape", async () => {
    const answer = await api(user.secret, "POST", "/v1/edits", {
      model: models.edit,
      input: "What day of the wek is it?",
      instruction: "Fix the spelling mistakes",
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      object: "edit",
      choices: [{ index: 0, text: expect.any(String) }],
    });
    expect(answer.body.usage.total_tokens).toBeGreaterThan(0);
    const sent = upstream.requests.at(-1);
    expect(sent?.path).toBe("/v1/chat/completions");
    expect((sent?.body as Json)?.messages).toEqual([
      { role: "system", content: "Fix the spelling mistakes" },
      { role: "user", content: "What day of the wek is it?" },
    ]);
  });

  it("relays to /v1/edits on channels that still serve it", async () => {
    const native = await createFixtureChannel({ channel: { config: { edits: "native" } } });
    try {
      const answer = await api(user.secret, "POST", "/v1/edits", {
        model: native.model,
        input: "teh",
        instruction: "fix",
      });
      expect(answer.body).toMatchObject({
        object: "edit",
        choices: [{ text: "teh (edited: fix)", index: 0 }],
      });
      expect(native.upstream.requests.at(-1)?.path).toBe("/v1/edits");
    } finally {
      await native.upstream.close();
    }
  });
});

describe("POST /v1/images/generations", () => {
  it("answers with urls or b64_json and bills per image by size and quality", async () => {
    const urls = await client.images.generate({
      model: models.image,
      prompt: "a white siamese cat",
      n: 2,
    });
    expect(urls.data).toHaveLength(2);
    expect(urls.data?.[0]?.url).toMatch(/^http/);
    const b64 = await client.images.generate({
      model: models.image,
      prompt: "a cat",
      size: "1792x1024",
      quality: "hd",
      response_format: "b64_json",
    });
    expect(
      Buffer.from(b64.data?.[0]?.b64_json ?? "", "base64")
        .subarray(1, 4)
        .toString(),
    ).toBe("PNG");
    const lines = await logsFor(models.image, 2);
    // 2 × $0.04 = 40,000 units; 1 × $0.12 = 60,000 units.
    expect(lines.map((l: Json) => l.quota).sort()).toEqual([40_000, 60_000]);
  });

  it("refuses a missing prompt with 400", async () => {
    const error = await client.images
      .generate({ model: models.image } as never)
      .catch((e: APIError) => e);
    expect((error as APIError).status).toBe(400);
    expect((error as APIError).param).toBe("prompt");
  });
});

describe("POST /v1/audio/transcriptions and /translations", () => {
  const file = () => toFile(Buffer.from(wavFile(90)), "speech.wav", { type: "audio/wav" });

  it("transcribes a file to JSON and bills the audio's duration", async () => {
    const transcription = await client.audio.transcriptions.create({
      file: await file(),
      model: models.whisper,
    });
    expect(transcription.text).toBe("Transcribed speech.wav (90.00 s)");
    const [line] = await logsFor(models.whisper);
    // 90 s at $0.006/min = $0.009 = 4,500 units.
    expect(line).toMatchObject({ quota: 4_500, endpoint: "/v1/audio/transcriptions" });
  });

  it("bills what the caller cannot forge when the upstream reports no duration", async () => {
    // 150 s of 16 kHz 16-bit mono whose byte-rate field claims 2 GB a second: billed 150 s
    // ($0.015 = 7,500 units), its played length.
    const forgedWav = toFile(Buffer.from(wav({ seconds: 150, byteRate: 0x7fffffff })), "a.wav");
    await client.audio.transcriptions.create({ file: await forgedWav, model: models.plainStt });
    const [wavLine] = await logsFor(models.plainStt, 1);
    expect(wavLine?.quota).toBeGreaterThanOrEqual(7_500);
    expect(wavLine?.quota).toBeLessThanOrEqual(7_600);
    // 40 minutes of Opus at its lowest rate whose last granule says 12 s: billed its bytes
    // at 6 kbit/s, the hold's figure, which is at least the 40 minutes ($0.24 = 120,000
    // units), not the 0.5 minutes its bytes are worth at Opus's top rate.
    const ogg = concat(
      oggOpus(40 * 60, 6),
      oggPage({ granule: 12n * 48_000n, packets: [new Uint8Array(15)], sequence: 99_999 }),
    );
    await client.audio.transcriptions.create({
      file: await toFile(Buffer.from(ogg), "speech.ogg"),
      model: models.plainStt,
    });
    const [oggLine] = await logsFor(models.plainStt, 2);
    expect(oggLine?.quota).toBeGreaterThanOrEqual(120_000);
    // Exactly its hold: its bytes at 750 B/s in whole seconds (whisper bills whole seconds,
    // rounded up), at $0.006 a minute (50 units a second).
    expect(oggLine?.quota).toBe(Math.ceil(ogg.byteLength / 750) * 50);
    expect(oggLine?.seconds).toBe(Math.ceil(ogg.byteLength / 750));
    expect(oggLine?.shortfall ?? 0).toBe(0);
  });

  it("prices gpt-4o-transcribe-style models by the tokens they report", async () => {
    await client.audio.transcriptions.create({ file: await file(), model: models.tokenStt });
    const [line] = await logsFor(models.tokenStt);
    // 90 s at the demo's 1,000 audio tokens a minute, and the transcript's words.
    expect(line).toMatchObject({ prompt_tokens: 1_500, completion_tokens: 4 });
    expect(line?.quota).toBe(Math.ceil((1_500 * 6 + 4 * 10) / 2));
  });

  it("answers the text formats as plain text, not JSON", async () => {
    const text = await client.audio.transcriptions.create({
      file: await file(),
      model: models.whisper,
      response_format: "text",
    });
    expect(text).toBe("Transcribed speech.wav (90.00 s)\n");
    const srt = await client.audio.transcriptions.create({
      file: await file(),
      model: models.whisper,
      response_format: "srt",
    });
    expect(srt).toBe("1\n00:00:00,000 --> 00:01:30,000\nTranscribed speech.wav (90.00 s)\n\n");
    const vtt = await client.audio.transcriptions.create({
      file: await file(),
      model: models.whisper,
      response_format: "vtt",
    });
    expect(vtt).toBe(
      "WEBVTT\n\n00:00:00.000 --> 00:01:30.000\nTranscribed speech.wav (90.00 s)\n\n",
    );
    const verbose = await client.audio.transcriptions.create({
      file: await file(),
      model: models.whisper,
      response_format: "verbose_json",
    });
    expect(verbose).toMatchObject({ duration: 90, text: "Transcribed speech.wav (90.00 s)" });
  });

  it("passes the other fields to the upstream", async () => {
    await client.audio.transcriptions.create({
      file: await file(),
      model: models.whisper,
      language: "en",
      prompt: "names",
      temperature: 0.2,
    });
    expect((lastRequestBody(upstream) as Json).fields).toMatchObject({
      language: "en",
      prompt: "names",
      temperature: "0.2",
    });
  });

  it("translates", async () => {
    const translation = await client.audio.translations.create({
      file: await file(),
      model: models.whisper,
    });
    expect(translation.text).toBe("Translated speech.wav (90.00 s)");
  });

  it("refuses a multipart upload with a missing field with 400", async () => {
    const noFile = new FormData();
    noFile.append("model", models.whisper);
    const noModel = new FormData();
    noModel.append("file", new Blob([wavFile(1)], { type: "audio/wav" }), "a.wav");
    for (const [form, param] of [
      [noFile, "file"],
      [noModel, "model"],
    ] as const) {
      const response = await fetch(`${sluice.url}/v1/audio/transcriptions`, {
        method: "POST",
        headers: { authorization: `Bearer ${user.secret}` },
        body: form,
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as Json).error).toMatchObject({
        param,
        type: "invalid_request_error",
      });
    }
  });
});

describe("POST /v1/audio/speech", () => {
  it("streams the audio back with its content type and bills per character", async () => {
    const response = await client.audio.speech.create({
      model: models.tts,
      input: "Hello world",
      voice: "alloy",
    });
    expect(response.headers.get("content-type")).toBe("audio/mpeg");
    const audio = Buffer.from(await response.arrayBuffer());
    expect(audio.subarray(0, 3).toString()).toBe("ID3");
    const [line] = await logsFor(models.tts);
    // 11 characters at $15 per 1M = 82.5 units, rounded up.
    expect(line.quota).toBe(83);
  });

  it("sends model tts-az-1 to Azure Speech as SSML with the voice, speed and format", async () => {
    const azure = await createFixtureChannel({
      models: ["tts-az-1"],
      // Ahead of the local stack's own demo Azure Speech channel for the same model.
      channel: { type: "azure-speech", key: "speech-key", priority: 100 },
      price: { tts_per_million_chars: 16 },
    });
    try {
      const response = await client.audio.speech.create({
        model: "tts-az-1",
        input: "重复我说的话",
        voice: "zh-CN-XiaoxiaoMultilingualNeural" as never,
        speed: 1.5,
        response_format: "wav",
      });
      expect(response.headers.get("content-type")).toBe("audio/wav");
      const sent = azure.upstream.requests.at(-1);
      expect(sent?.path).toBe("/cognitiveservices/v1");
      expect(sent?.headers["x-microsoft-outputformat"]).toBe("riff-24khz-16bit-mono-pcm");
      expect(sent?.headers["ocp-apim-subscription-key"]).toBe("speech-key");
      expect(parseSsml(sent?.body as string)).toEqual({
        lang: "zh-CN",
        voice: "zh-CN-XiaoxiaoMultilingualNeural",
        rate: "+50%",
        text: "重复我说的话",
      });
      const error = await client.audio.speech
        .create({ model: "tts-az-1", input: "x", voice: "alloy", response_format: "aac" })
        .catch((e: APIError) => e);
      expect((error as APIError).status).toBe(400);
      expect((error as APIError).param).toBe("response_format");
    } finally {
      await admin("DELETE", `/api/channel/${azure.channelId}`);
      await azure.upstream.close();
    }
  });
});

describe("POST /v1/moderations", () => {
  it("relays and charges nothing for a free model", async () => {
    const result = await client.moderations.create({
      model: models.moderation,
      input: ["I will kill the process", "hello"],
    });
    expect(result.results.map((r) => r.flagged)).toEqual([true, false]);
    const [line] = await logsFor(models.moderation);
    expect(line.quota).toBe(0);
  });
});

describe("Azure OpenAI channels", () => {
  it("put the deployment in the path, the api-version in the query and the key in api-key", async () => {
    const model = uniqueModel("azure");
    const azure = await createFixtureChannel({
      models: [model],
      channel: {
        type: "azure",
        key: "azure-key",
        model_mapping: { [model]: "prod-deployment" },
        config: { api_version: "2024-06-01" },
      },
    });
    try {
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "hi" }],
      });
      expect(completion.model).toBe(model);
      const sent = azure.upstream.requests.at(-1);
      expect(sent?.path).toBe(
        "/openai/deployments/prod-deployment/chat/completions?api-version=2024-06-01",
      );
      expect(sent?.headers["api-key"]).toBe("azure-key");
      expect(sent?.headers.authorization).toBeUndefined();
    } finally {
      await azure.upstream.close();
    }
  });

  it("name an unmapped deployment Azure's way and still report the client's model", async () => {
    const model = `${uniqueModel("azure")}-3.5`;
    const azure = await createFixtureChannel({
      models: [model],
      channel: { type: "azure", key: "azure-key" },
    });
    try {
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "hi" }],
      });
      expect(azure.upstream.requests.at(-1)?.path).toBe(
        `/openai/deployments/${model.replace(".", "")}/chat/completions?api-version=2024-10-21`,
      );
      expect(completion.model).toBe(model);
    } finally {
      await azure.upstream.close();
    }
  });
});

describe("models a channel type cannot serve", () => {
  it("answers 404 when no channel of the model serves the endpoint", async () => {
    const speechOnly = await createFixtureChannel({ channel: { type: "azure-speech" } });
    try {
      const error = await client.chat.completions
        .create({ model: speechOnly.model, messages: [{ role: "user", content: "hi" }] })
        .catch((e: APIError) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as APIError).message).toContain("is not served on /v1/chat/completions");
    } finally {
      await speechOnly.upstream.close();
    }
  });
});
