import { describe, expect, it } from "vitest";
import { wavFile } from "../../infra/local/demo-upstream";
import { type Json, sluice } from "./support";

/**
 * Every request the seeds show, as they show it (only the host and the key are this stack's),
 * against the local stack's demo upstream: what `npm start` answers to a user who pastes
 * them. Seed 000 is burn.hair's guide, seed 002 AI小火箭's REST API.
 */
const key = () => ({ authorization: `Bearer ${sluice.demoKey}` });

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${sluice.url}${path}`, {
    method: "POST",
    headers: { ...key(), "content-type": "application/json", ...headers },
    body,
  });
}

async function ok(response: Response | Promise<Response>): Promise<Json> {
  const answer = await response;
  const text = await answer.text();
  expect(answer.status, text).toBe(200);
  return JSON.parse(text);
}

const usage = {
  prompt_tokens: expect.any(Number),
  completion_tokens: expect.any(Number),
  total_tokens: expect.any(Number),
};

function expectChatCompletion(body: Json, model: string): void {
  expect(body).toMatchObject({ object: "chat.completion", model, usage });
  expect(body.choices[0].message).toMatchObject({ role: "assistant", content: expect.any(String) });
}

function expectTextCompletion(body: Json, model: string): void {
  expect(body).toMatchObject({ object: "text_completion", model, usage });
  expect(body.choices[0].text).toEqual(expect.any(String));
}

function expectEmbedding(body: Json, model: string): void {
  expect(body).toMatchObject({
    object: "list",
    model,
    usage: { prompt_tokens: expect.any(Number) },
  });
  expect(body.data[0].object).toBe("embedding");
  expect(body.data[0].embedding.length).toBeGreaterThan(0);
}

/** The data lines of an SSE answer, [DONE] included. */
async function events(response: Response): Promise<string[]> {
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => line.slice("data: ".length));
}

describe("seed 000's examples", () => {
  it("1.1 GET /api/user/stat with the system access token", async () => {
    const response = await fetch(`${sluice.url}/api/user/stat`, {
      headers: { authorization: `Bearer ${sluice.adminToken}` },
    });
    const body = await ok(response);
    expect(body.token.length).toBeGreaterThan(0);
    expect(body.token[0]).toMatchObject({
      key: expect.any(String),
      remain_quota: expect.any(Number),
    });
    expect(body.user).toMatchObject({
      free_quota: expect.any(Number),
      total_quota_dollar: expect.any(Number),
      request_count: expect.any(Number),
    });
  });

  it("2.1 GET /v1/models", async () => {
    const body = await ok(fetch(`${sluice.url}/v1/models`, { headers: key() }));
    expect(body.object).toBe("list");
    expect(body.data).toContainEqual(
      expect.objectContaining({ id: "gpt-3.5-turbo", object: "model" }),
    );
  });

  it("2.2 chat completions with gpt-3.5-turbo", async () => {
    const body = await ok(
      post(
        "/v1/chat/completions",
        `{
  "model": "gpt-3.5-turbo",
  "messages": [
    {
      "role": "user",
      "content": "重复我说的话:我,V,谨庄严宣誓。"
    }
  ],
  "temperature": 0.7
}`,
      ),
    );
    expectChatCompletion(body, "gpt-3.5-turbo");
  });

  it("2.3 whisper: form-data with model whisper-1 and an audio file", async () => {
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("file", new Blob([wavFile(3)], { type: "audio/wav" }), "audio.wav");
    const response = await fetch(`${sluice.url}/v1/audio/transcriptions`, {
      method: "POST",
      headers: key(),
      body: form,
    });
    expect(await ok(response)).toMatchObject({ text: expect.any(String) });
  });

  it.each([
    ["tts-1", `{"model": "tts-1", "input": "Hello world", "voice": "alloy"}`],
    [
      "tts-az-1",
      `{"model": "tts-az-1", "input": "Hello world", "voice": "zh-CN-XiaoxiaoMultilingualNeural"}`,
    ],
  ])("2.4 TTS with %s answers an audio file", async (_model, body) => {
    const response = await post("/v1/audio/speech", body);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^audio\//);
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it("2.5 DALL·E with dall-e-3", async () => {
    const body = await ok(
      post(
        "/v1/images/generations",
        `{
  "model": "dall-e-3",
  "prompt": "a white siamese cat",
  "n": 1,
  "size": "1024x1024"
}`,
      ),
    );
    expect(body.created).toEqual(expect.any(Number));
    expect(body.data).toHaveLength(1);
    expect(body.data[0].url ?? body.data[0].b64_json).toEqual(expect.any(String));
  });

  it("2.6 embeddings with text-embedding-3-large", async () => {
    const body = await ok(
      post(
        "/v1/embeddings",
        `{
  "input": "Your text string goes here",
  "model": "text-embedding-3-large"
}`,
      ),
    );
    expectEmbedding(body, "text-embedding-3-large");
  });

  it("2.7 completions with gpt-3.5-turbo-instruct", async () => {
    const body = await ok(
      post(
        "/v1/completions",
        `{
  "model": "gpt-3.5-turbo-instruct",
  "prompt": "Say this is a test",
  "max_tokens": 7,
  "temperature": 0
}`,
      ),
    );
    expectTextCompletion(body, "gpt-3.5-turbo-instruct");
  });

  it("2.8 a batch: upload the JSONL, submit it, watch it, download the results", async () => {
    const jsonl = `{"custom_id":"123a","method":"POST","body":{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"重复我说的话:我,V,谨庄严宣誓。"}]},"url":"/v1/chat/completions"}
{"custom_id":"124a","method":"POST","body":{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"你是谁?"}]},"url":"/v1/chat/completions"}
`;
    const form = new FormData();
    form.append("purpose", "batch");
    form.append("file", new Blob([jsonl]), "batch.jsonl");
    const file = await ok(
      fetch(`${sluice.url}/v1/files`, { method: "POST", headers: key(), body: form }),
    );
    expect(file).toMatchObject({ object: "file", purpose: "batch", filename: "batch.jsonl" });

    const batch = await ok(
      post(
        "/v1/batches",
        `{
  "input_file_id": "${file.id}",
  "endpoint": "/v1/chat/completions",
  "completion_window": "24h"
}`,
      ),
    );
    expect(batch).toMatchObject({ object: "batch", input_file_id: file.id });

    let done: Json;
    await expect
      .poll(
        async () => {
          done = await ok(fetch(`${sluice.url}/v1/batches/${batch.id}`, { headers: key() }));
          return done.status;
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBe("completed");
    expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    const output = await fetch(`${sluice.url}/v1/files/${done.output_file_id}/content`, {
      headers: key(),
    });
    const lines = (await output.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.custom_id).sort()).toEqual(["123a", "124a"]);
    for (const line of lines) {
      expect(line.response.status_code).toBe(200);
      expectChatCompletion(line.response.body, "gpt-3.5-turbo");
    }
  });
});

describe("seed 002's examples", () => {
  it("the first request: chat completions with gpt-3.5-turbo", async () => {
    const body = await ok(
      post(
        "/v1/chat/completions",
        `{
     "model": "gpt-3.5-turbo",
     "messages": [{"role": "user", "content": "Say this is a test!"}],
     "temperature": 0.7
   }`,
      ),
    );
    expectChatCompletion(body, "gpt-3.5-turbo");
  });

  const completion = `{
  "model": "text-davinci-003",
  "prompt": "Say this is a test",
  "max_tokens": 7,
  "temperature": 0,
  "top_p": 1,
  "n": 1,
  "stream": false,
  "logprobs": null,
  "stop": "\\n"
}`;

  it("Completions with text-davinci-003", async () => {
    expectTextCompletion(await ok(post("/v1/completions", completion)), "text-davinci-003");
  });

  it("Completions streamed with Reduce-Stream: arrays of text", async () => {
    const streamed = completion.replace(`"stream": false`, `"stream": true`);
    const data = await events(await post("/v1/completions", streamed, { "Reduce-Stream": "true" }));
    expect(data.at(-1)).toBe("[DONE]");
    expect(data.length).toBeGreaterThan(1);
    for (const event of data.slice(0, -1)) expect(JSON.parse(event)).toEqual([expect.any(String)]);
  });

  const chat = `{
  "messages": [
    {
      "role": "user",
      "content": "写一首诗"
    }
  ],
  "stream": false,
  "model": "gpt-3.5-turbo",
  "temperature": 1,
  "presence_penalty": 0
}`;

  it("Chat with gpt-3.5-turbo", async () => {
    expectChatCompletion(await ok(post("/v1/chat/completions", chat)), "gpt-3.5-turbo");
  });

  it("Chat streamed with Reduce-Stream: arrays of deltas", async () => {
    const streamed = chat.replace(`"stream": false`, `"stream": true`);
    const data = await events(
      await post("/v1/chat/completions", streamed, { "Reduce-Stream": "true" }),
    );
    expect(data.at(-1)).toBe("[DONE]");
    expect(JSON.parse(data[0] as string)).toMatchObject([{ role: "assistant" }]);
    const deltas = data.slice(1, -1).map((event) => JSON.parse(event));
    expect(deltas.some(([delta]) => typeof delta.content === "string")).toBe(true);
  });

  // The table of stable models: each answers on its endpoint.
  it.each(["gpt-3.5-turbo", "gpt-3.5-turbo-0301"])(
    "/v1/chat/completions with %s",
    async (model) => {
      const body = `{"model": "${model}", "messages": [{"role": "user", "content": "Say this is a test!"}]}`;
      expectChatCompletion(await ok(post("/v1/chat/completions", body)), model);
    },
  );

  it.each([
    "text-ada-001",
    "text-babbage-001",
    "text-curie-001",
    "text-davinci-002",
    "text-davinci-003",
  ])("/v1/completions with %s", async (model) => {
    const body = `{"model": "${model}", "prompt": "Say this is a test", "max_tokens": 7}`;
    expectTextCompletion(await ok(post("/v1/completions", body)), model);
  });

  it.each(["text-embedding-ada-002", "text-similarity-ada-001", "text-similarity-curie-001"])(
    "/v1/embeddings with %s",
    async (model) => {
      const body = `{"input": "Your text string goes here", "model": "${model}"}`;
      expectEmbedding(await ok(post("/v1/embeddings", body)), model);
    },
  );

  // Seed 002 points to OpenAI's documentation for edits; this is its example request.
  it.each(["code-davinci-edit-001", "text-davinci-edit-001"])(
    "/v1/edits with %s",
    async (model) => {
      const body = `{"model": "${model}", "input": "What day of the wek is it?", "instruction": "Fix the spelling mistakes"}`;
      const edit = await ok(post("/v1/edits", body));
      expect(edit).toMatchObject({ object: "edit", usage });
      expect(edit.choices[0].text).toEqual(expect.any(String));
    },
  );
});
