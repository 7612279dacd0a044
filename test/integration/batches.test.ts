import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import OpenAI, { type APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchKey } from "../../shared/store/batches";
import { Schedule } from "../../shared/store/schedule";
import type { UpstreamFixture } from "../fixtures/upstream";
import {
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  settledAccount,
  sluice,
  sluiceTable,
  type TestUser,
} from "./support";

/** An admin's discount for this model's batch lines (the default is none). */
const PRICE = { input: 10, output: 30, batch_discount: 0.5 };
let upstream: UpstreamFixture;
let model: string;
let user: TestUser & { secret: string };
let client: OpenAI;

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel({ price: PRICE }));
  user = await createUserWithKey();
  client = openai(user.secret);
});
afterAll(() => upstream.close());

const sqs = new SQSClient({
  endpoint: sluice.awsEndpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});
afterAll(() => sqs.destroy());

function requestLine(
  customId: string,
  content: string,
  forModel = model,
  extra: Record<string, unknown> = {},
) {
  return JSON.stringify({
    custom_id: customId,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: forModel, messages: [{ role: "user", content }], ...extra },
  });
}

async function uploadLines(lines: string[], as: OpenAI = client) {
  return as.files.create({
    file: await toFile(Buffer.from(`${lines.join("\n")}\n`), "batch.jsonl"),
    purpose: "batch",
  });
}

/** Uploads the lines and starts a chat completions batch on them. */
async function startChatBatch(lines: string[], as: OpenAI = client) {
  const file = await uploadLines(lines, as);
  return as.batches.create({
    input_file_id: file.id,
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
  });
}

async function waitFor(id: string, statuses: string[], as: OpenAI = client, timeoutMs = 30_000) {
  return eventually(
    () => as.batches.retrieve(id),
    (batch) => statuses.includes(batch.status),
    timeoutMs,
  );
}

async function jsonlOf(fileId: string | null | undefined, as: OpenAI = client): Promise<Json[]> {
  if (!fileId) return [];
  const text = await (await as.files.content(fileId)).text();
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe("a batch, end to end with the official client", () => {
  it("runs every line, writes one output line per custom_id, and bills each at the batch discount", async () => {
    const lines = Array.from({ length: 12 }, (_, i) => requestLine(`req-${i}`, `Say ${i}`));
    const file = await uploadLines(lines);
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
      metadata: { customer_id: "c-42", batch_description: "" },
    });
    expect(created).toMatchObject({
      object: "batch",
      status: "validating",
      endpoint: "/v1/chat/completions",
      input_file_id: file.id,
      completion_window: "24h",
      errors: null,
      output_file_id: null,
      error_file_id: null,
      in_progress_at: null,
      completed_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: { customer_id: "c-42", batch_description: "" },
    });
    expect(created.expires_at).toBe(created.created_at + 86_400);

    const done = await waitFor(created.id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.request_counts).toEqual({ total: 12, completed: 12, failed: 0 });
    expect(done.model).toBe(model);
    for (const stamp of [done.in_progress_at, done.finalizing_at, done.completed_at])
      expect(stamp).toEqual(expect.any(Number));
    expect(done.error_file_id).toBeNull();

    const output = await jsonlOf(done.output_file_id);
    expect(output.map((l) => l.custom_id).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `req-${i}`).sort(),
    );
    for (const line of output) {
      expect(line).toMatchObject({
        id: expect.stringMatching(/^batch_req_/),
        response: {
          status_code: 200,
          request_id: expect.stringMatching(/^req_/),
          body: { object: "chat.completion" },
        },
        error: null,
      });
      const number = line.custom_id.slice(4);
      expect(line.response.body.choices[0].message.content).toBe(
        `This is sluice's demo upstream. You said: Say ${number}`,
      );
    }
    const outputFile = await client.files.retrieve(done.output_file_id as string);
    expect(outputFile).toMatchObject({ purpose: "batch_output", status: "processed" });
    expect(outputFile.expires_at).toBe((outputFile.created_at ?? 0) + 3 * 3_600);
    const usage = (done as unknown as { usage: Json }).usage;
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);

    // Billed once per line at the model's batch discount (half), and the charges show in the
    // log and /api/user/stat.
    const logs = await eventually(
      async () =>
        (await api(user.accessToken, "GET", "/api/log/self?size=200")).body.data.filter(
          (l: Json) => l.batch_id === created.id,
        ),
      (entries: Json[]) => entries.length >= 12,
    );
    expect(logs).toHaveLength(12);
    for (const entry of logs) {
      const fullPrice = entry.prompt_tokens * 10 + entry.completion_tokens * 30; // µ$, = 2 units each
      expect(entry.quota).toBe(Math.ceil(fullPrice / 2 / 2));
    }
    const stat = (await api(user.accessToken, "GET", "/api/user/stat")).body;
    expect(stat.user.used_quota).toBeGreaterThanOrEqual(
      logs.reduce((sum: number, l: Json) => sum + l.quota, 0),
    );
  });

  it("bills batch lines at full price unless the admin sets a discount", async () => {
    const plain = await createFixtureChannel({ price: { input: 10, output: 30 } });
    try {
      const batch = await startChatBatch([
        requestLine("a", "hi", plain.model),
        requestLine("b", "hello", plain.model),
      ]);
      expect((await waitFor(batch.id, ["completed", "failed"])).status).toBe("completed");
      const logs = await eventually(
        async () =>
          (await api(user.accessToken, "GET", "/api/log/self?size=200")).body.data.filter(
            (l: Json) => l.batch_id === batch.id,
          ),
        (entries: Json[]) => entries.length >= 2,
      );
      for (const entry of logs) {
        const fullPrice = entry.prompt_tokens * 10 + entry.completion_tokens * 30; // µ$
        expect(entry.quota).toBe(Math.ceil(fullPrice / 2));
      }
    } finally {
      await plain.upstream.close();
    }
  });

  it("refuses a batch its owner cannot pay one line of, before storing anything", async () => {
    const broke = await createUserWithKey({ paidUsd: 0 });
    const brokeClient = openai(broke.secret);
    const lines = Array.from({ length: 1_000 }, (_, i) => requestLine(`r-${i}`, "hi"));
    const before = upstream.requests.length;
    const error = await startChatBatch(lines, brokeClient).catch((e: APIError) => e);
    expect((error as APIError).status).toBe(429);
    expect((error as APIError).code).toBe("insufficient_quota");
    expect((await brokeClient.batches.list()).data).toEqual([]);
    expect(upstream.requests.length).toBe(before);
  });

  it("runs /v1/completions and /v1/embeddings batches as well", async () => {
    const bodies = {
      "/v1/completions": (i: number) => ({ model, prompt: `Say ${i}`, max_tokens: 5 }),
      "/v1/embeddings": (i: number) => ({ model, input: [`text ${i}`, `more ${i}`] }),
    } as const;
    for (const [endpoint, body] of Object.entries(bodies)) {
      const lines = [0, 1, 2].map((i) =>
        JSON.stringify({
          custom_id: `${endpoint}-${i}`,
          method: "POST",
          url: endpoint,
          body: body(i),
        }),
      );
      const batch = await client.batches.create({
        input_file_id: (await uploadLines(lines)).id,
        endpoint: endpoint as "/v1/completions" | "/v1/embeddings",
        completion_window: "24h",
      });
      const done = await waitFor(batch.id, ["completed", "failed"]);
      expect(done.status, endpoint).toBe("completed");
      expect(done.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
      const output = await jsonlOf(done.output_file_id);
      expect(output.map((l) => l.custom_id).sort()).toEqual(
        [0, 1, 2].map((i) => `${endpoint}-${i}`),
      );
      for (const line of output) {
        expect(line.response.status_code).toBe(200);
        if (endpoint === "/v1/completions")
          expect(line.response.body.object).toBe("text_completion");
        else expect(line.response.body.data).toHaveLength(2);
      }
    }
  });

  it("lists batches newest first, a cursor page at a time", async () => {
    const own = await createUserWithKey();
    const ownClient = openai(own.secret);
    const file = await uploadLines([requestLine("a", "hi")], ownClient);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const batch = await ownClient.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      });
      ids.push(batch.id);
      await new Promise((resolve) => setTimeout(resolve, 1_050));
    }
    const page = await ownClient.batches.list({ limit: 2 });
    expect(page.data.map((b) => b.id)).toEqual([ids[2], ids[1]]);
    expect(page.has_more).toBe(true);
    const all: string[] = [];
    for await (const batch of ownClient.batches.list({ limit: 2 })) all.push(batch.id);
    expect(all).toEqual([...ids].reverse());
  }, 20_000);

  it("fails an invalid file, naming each bad line", async () => {
    const batch = await startChatBatch([
      requestLine("ok-1", "hi"),
      "{not json",
      requestLine("ok-1", "a duplicate custom_id"),
      JSON.stringify({ custom_id: "x", method: "POST", url: "/v1/embeddings", body: { model } }),
      requestLine("other-model", "hi", "gpt-4o"),
      JSON.stringify({
        custom_id: "get",
        method: "GET",
        url: "/v1/chat/completions",
        body: { model },
      }),
    ]);
    const failed = await waitFor(batch.id, ["failed", "completed"]);
    expect(failed.status).toBe("failed");
    expect(failed.failed_at).toEqual(expect.any(Number));
    expect(failed.errors?.object).toBe("list");
    expect(failed.errors?.data?.map((e) => [e.code, e.line])).toEqual([
      ["invalid_json_line", 2],
      ["duplicate_custom_id", 3],
      ["url_mismatch", 4],
      ["model_mismatch", 5],
      ["invalid_method", 6],
    ]);
  });

  it("fails a file with a line nested too deep or a custom_id too long, naming the line", async () => {
    const deep = 100_000;
    const batch = await startChatBatch([
      requestLine("ok-1", "hi"),
      // Written as text: JSON.stringify itself cannot go this deep.
      requestLine("deep", "hi").replace(
        '"messages"',
        `"metadata":${"[".repeat(deep)}${"]".repeat(deep)},"messages"`,
      ),
      requestLine("x".repeat(1_025), "hi"),
    ]);
    const failed = await waitFor(batch.id, ["failed", "completed", "in_progress"]);
    expect(failed.status).toBe("failed");
    expect(failed.errors?.data?.map((e) => [e.code, e.line, e.param ?? null])).toEqual([
      ["invalid_json_line", 2, null],
      ["invalid_request", 3, "custom_id"],
    ]);
  });

  it("puts the lines the upstream refuses in the error file, and still completes", async () => {
    const batch = await startChatBatch([
      requestLine("good-1", "hi"),
      requestLine("bad-400", "please fail with 400"),
      requestLine("good-2", "there"),
      requestLine("bad-500", "please fail with 500"),
    ]);
    const done = await waitFor(batch.id, ["completed", "failed"]);
    expect(done).toMatchObject({
      status: "completed",
      request_counts: { total: 4, completed: 2, failed: 2 },
    });
    expect((await jsonlOf(done.output_file_id)).map((l) => l.custom_id).sort()).toEqual([
      "good-1",
      "good-2",
    ]);
    const errors = await jsonlOf(done.error_file_id);
    const byId = Object.fromEntries(errors.map((l) => [l.custom_id, l]));
    expect(byId["bad-400"]).toMatchObject({
      response: {
        status_code: 400,
        body: { error: { message: "Failed on request (400).", type: "invalid_request_error" } },
      },
      error: null,
    });
    // A 5xx is retried (and fails over) before it counts as the line's answer.
    expect(byId["bad-500"]).toMatchObject({
      response: { status_code: 502, body: { error: { type: "upstream_error" } } },
    });
    const errorFile = await client.files.retrieve(done.error_file_id as string);
    expect(errorFile.purpose).toBe("batch_output");
  });

  it("backs off when the upstream rate-limits a line, and runs it again", async () => {
    const before = upstream.requests.length;
    // The only line's first two tries are told 429 (a call does not ask a channel that said
    // 429 again): it backs off after each, and the third try goes through.
    upstream.enqueue({ status: 429 }, { status: 429 });
    const batch = await startChatBatch([requestLine("patient", "hi")]);
    const done = await waitFor(batch.id, ["completed", "failed"]);
    expect(done.request_counts).toEqual({ total: 1, completed: 1, failed: 0 });
    expect(upstream.requests.length - before).toBe(3);
    expect((await jsonlOf(done.output_file_id))[0].response.status_code).toBe(200);
  });

  it("completes a batch whose every line failed, with only an error file", async () => {
    const batch = await startChatBatch([
      requestLine("a", "please fail with 400"),
      requestLine("b", "please fail with 422"),
    ]);
    const done = await waitFor(batch.id, ["completed", "failed"]);
    expect(done).toMatchObject({
      status: "completed",
      output_file_id: null,
      errors: null,
      request_counts: { total: 2, completed: 0, failed: 2 },
    });
    expect(await jsonlOf(done.error_file_id)).toHaveLength(2);
  });

  it("refuses a bad request to create a batch", async () => {
    const file = await uploadLines([requestLine("a", "hi")]);
    const fail = (body: Record<string, unknown>) =>
      client.batches.create(body as never).catch((e: APIError) => e) as Promise<APIError>;
    expect(
      (
        await fail({
          input_file_id: file.id,
          endpoint: "/v1/images/generations",
          completion_window: "24h",
        })
      ).param,
    ).toBe("endpoint");
    expect(
      (
        await fail({
          input_file_id: file.id,
          endpoint: "/v1/chat/completions",
          completion_window: "48h",
        })
      ).param,
    ).toBe("completion_window");
    expect(
      (
        await fail({
          input_file_id: "file-nope",
          endpoint: "/v1/chat/completions",
          completion_window: "24h",
        })
      ).param,
    ).toBe("input_file_id");
    const notes = await client.files.create({
      file: await toFile(Buffer.from("x"), "notes.txt"),
      purpose: "user_data",
    });
    expect(
      (
        await fail({
          input_file_id: notes.id,
          endpoint: "/v1/chat/completions",
          completion_window: "24h",
        })
      ).status,
    ).toBe(400);
  });
});

describe("one user's batches are theirs alone", () => {
  it("cannot be seen, cancelled or created from by another user", async () => {
    const file = await uploadLines([requestLine("a", "hi")]);
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    const stranger = openai((await createUserWithKey()).secret);
    expect(
      ((await stranger.batches.retrieve(batch.id).catch((e: APIError) => e)) as APIError).status,
    ).toBe(404);
    expect(
      ((await stranger.batches.cancel(batch.id).catch((e: APIError) => e)) as APIError).status,
    ).toBe(404);
    const theirs = await stranger.batches
      .create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      })
      .catch((e: APIError) => e);
    expect((theirs as APIError).status).toBe(400);
    const listed: string[] = [];
    for await (const b of stranger.batches.list()) listed.push(b.id);
    expect(listed).not.toContain(batch.id);
    await waitFor(batch.id, ["completed"]);
  });
});

describe("cancel and expiry", () => {
  let slow: UpstreamFixture;
  let slowModel: string;

  beforeAll(async () => {
    // Every answer takes a second: the batch is still running when the test acts on it.
    ({ upstream: slow, model: slowModel } = await createFixtureChannel({
      price: PRICE,
      latencyMs: 1_000,
    }));
  });
  afterAll(() => slow.close());

  const slowLines = (n: number) =>
    Array.from({ length: n }, (_, i) => requestLine(`slow-${i}`, `n${i}`, slowModel));

  it("cancels: cancelling at once, no new line starts, then cancelled with partial results", async () => {
    const before = slow.requests.length;
    const batch = await startChatBatch(slowLines(300));
    // Some lines have started, and (each answer takes a second) some have finished.
    await eventually(
      async () => slow.requests.length - before,
      (started) => started > 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const cancelling = await client.batches.cancel(batch.id);
    expect(cancelling.status).toBe("cancelling");
    expect(cancelling.cancelling_at).toEqual(expect.any(Number));
    const cancelled = await waitFor(batch.id, ["cancelled"], client, 60_000);
    // No line starts once the batch is cancelled.
    const started = slow.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(slow.requests.length).toBe(started);
    const output = await jsonlOf(cancelled.output_file_id);
    expect(output.length).toBeGreaterThan(0);
    expect(output.length).toBeLessThan(300);
    expect(cancelled.request_counts?.completed).toBe(output.length);
    expect(new Set(output.map((l) => l.custom_id)).size).toBe(output.length);
    const again = await client.batches.cancel(batch.id);
    expect(again.status).toBe("cancelled");
  }, 90_000);

  it("expires a batch past its window: unfinished lines go to the error file as batch_expired", async () => {
    const batch = await startChatBatch(slowLines(100));
    await waitFor(batch.id, ["in_progress"]);
    // Move the end of its window to now, and tell the janitor.
    const past = Math.floor(Date.now() / 1000) - 1;
    await sluiceTable().update(batchKey(batch.id), {
      update: "SET expiresAt = :past",
      values: { ":past": past },
    });
    await sluiceTable().transact([
      Schedule.entry({ due: past, kind: "batch.expire", id: batch.id }),
    ]);
    const expired = await waitFor(batch.id, ["expired"]);
    expect(expired.expired_at).toEqual(expect.any(Number));
    const output = await jsonlOf(expired.output_file_id);
    const errors = await jsonlOf(expired.error_file_id);
    expect(errors.length).toBeGreaterThan(0);
    for (const line of errors) {
      expect(line).toMatchObject({
        response: null,
        error: {
          code: "batch_expired",
          message: "This request could not be executed before the completion window expired.",
        },
      });
    }
    // Every line is accounted for exactly once.
    const ids = [...output, ...errors].map((l) => l.custom_id).sort();
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => `slow-${i}`).sort());
    expect(expired.request_counts).toEqual({
      total: 100,
      completed: output.length,
      failed: errors.length,
    });
  });
});

describe("at-least-once delivery", () => {
  it("ignores chunk and finalize messages delivered again: one line per custom_id, one charge each", async () => {
    const own = await createUserWithKey();
    const ownClient = openai(own.secret);
    const batch = await startChatBatch(
      Array.from({ length: 10 }, (_, i) => requestLine(`dup-${i}`, `d${i}`)),
      ownClient,
    );
    await waitFor(batch.id, ["in_progress", "completed"], ownClient);
    // Every chunk message again, while it runs and after it finished, and finalize twice more.
    const again = async () => {
      for (const message of [
        { type: "batch.chunk", batchId: batch.id, chunk: 0 },
        { type: "batch.chunk", batchId: batch.id, chunk: 1 },
        { type: "batch.finalize", batchId: batch.id },
      ]) {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: sluice.queueUrl,
            MessageBody: JSON.stringify(message),
          }),
        );
      }
    };
    await again();
    const done = await waitFor(batch.id, ["completed"], ownClient);
    await again();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const final = await ownClient.batches.retrieve(batch.id);
    expect(final).toMatchObject({ status: "completed", output_file_id: done.output_file_id });
    const output = await jsonlOf(final.output_file_id, ownClient);
    expect(output.map((l) => l.custom_id).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `dup-${i}`).sort(),
    );
    const logs = (await api(own.accessToken, "GET", "/api/log/self?size=100")).body.data.filter(
      (l: Json) => l.batch_id === batch.id,
    );
    expect(logs).toHaveLength(10);
    await settledAccount(own.id);
    const self = (await api(own.accessToken, "GET", "/api/user/self")).body.data;
    expect(self.used_quota).toBe(logs.reduce((sum: number, l: Json) => sum + l.quota, 0));
  });
});
