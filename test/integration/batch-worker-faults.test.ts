import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionTable } from "../../functions/adapters/services";
import { batchWorkerHandler } from "../../functions/batch-worker/handler";
import { localContext } from "../../infra/local/lambda-context";
import { startSqsPoller } from "../../infra/local/sqs-poller";
import { LEASE_SECONDS, runChunk } from "../../shared/batches/chunk";
import { finalizeBatch } from "../../shared/batches/finalize";
import { MOVES } from "../../shared/batches/lifecycle";
import { planBatch } from "../../shared/batches/plan";
import { startBatch } from "../../shared/batches/start";
import { batchSteps } from "../../shared/batches/steps";
import { loadSettings } from "../../shared/config/settings";
import { JobQueue } from "../../shared/queue/queue";
import { createWorker } from "../../shared/queue/worker";
import { createServices, type Services } from "../../shared/services";
import { Blobs } from "../../shared/store/blobs";
import { sdkTransport } from "../../shared/store/dynamo-transport";
import { type Item, Table, type UpdateRequest } from "../../shared/store/table";
import { instanceEnv } from "../fixtures/core";
import { startDynamoFaultProxy } from "../fixtures/dynamo-fault-proxy";
import { capturedLog } from "../fixtures/logs";
import { gate, type UpstreamFixture } from "../fixtures/upstream";
import {
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  logTable,
  openai,
  settledAccount,
  sluice,
  type TestUser,
} from "./support";

/**
 * A worker killed mid-chunk, run here in the test process: the real worker steps on the real
 * DynamoDB Local, S3 and SQS (fauxqs), with a queue of this test's own, and a table that
 * fails partway through a chunk as a crash would.
 */
const local = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
};
const sqs = new SQSClient({ endpoint: sluice.awsEndpoint, ...local });
const s3 = new S3Client({ endpoint: sluice.awsEndpoint, forcePathStyle: true, ...local });
let queueUrl: string;
let upstream: UpstreamFixture;
let model: string;

/** Not a move of the batch's: the test makes its 24 h window end early. */
const WINDOW_ENDS = { name: "the window ends (a test's)", from: ["in_progress"] } as const;

/** Fails every write of a line result after the first `healthy` ones. */
class CrashingTable extends Table {
  private results = 0;
  constructor(private readonly healthy: number) {
    super(
      sdkTransport(new DynamoDBClient({ endpoint: sluice.dynamoEndpoint, ...local })),
      sluice.tableName,
    );
  }
  override async put(item: Item, condition?: Parameters<Table["put"]>[1]): Promise<void> {
    if (String(item.sk).startsWith("RESULT#") && ++this.results > this.healthy) {
      throw new Error("simulated crash: the worker died here");
    }
    return super.put(item, condition);
  }
}

/**
 * The real table, with hooks: before each write of a line result (a run's or finalize's),
 * after each read of a batch's (or chunk's) line results, and after each read of a chunk.
 */
class HookedTable extends Table {
  constructor(
    private readonly hooks: {
      beforeResultPut?: () => Promise<void>;
      afterResultsRead?: () => Promise<void>;
      afterChunkRead?: () => Promise<void>;
      beforeAccountUpdate?: () => Promise<void>;
    },
  ) {
    super(
      sdkTransport(new DynamoDBClient({ endpoint: sluice.dynamoEndpoint, ...local })),
      sluice.tableName,
    );
  }
  override async put(item: Item, condition?: Parameters<Table["put"]>[1]): Promise<void> {
    if (String(item.sk).startsWith("RESULT#")) await this.hooks.beforeResultPut?.();
    return super.put(item, condition);
  }
  override async update<T = Item>(key: Parameters<Table["update"]>[0], request: UpdateRequest) {
    if (key.sk === "ACCOUNT") await this.hooks.beforeAccountUpdate?.();
    return super.update<T>(key, request);
  }
  override async get<T = Item>(key: Parameters<Table["get"]>[0], consistent?: boolean) {
    const item = await super.get<T>(key, consistent);
    if (key.sk.startsWith("CHUNK#")) await this.hooks.afterChunkRead?.();
    return item;
  }
  override async queryAll<T = Item>(request: Parameters<Table["queryAll"]>[0]): Promise<T[]> {
    const items = await super.queryAll<T>(request);
    if (String(request.values?.[":prefix"]).startsWith("RESULT#"))
      await this.hooks.afterResultsRead?.();
    return items;
  }
}

/** The test's settings: a model answers within 20 s, so a 60 s invocation starts its lines. */
const SETTINGS = {
  ...loadSettings({}),
  cacheTtlMs: 0,
  upstreamTimeoutMs: 20_000,
  batches: { ...loadSettings({}).batches, chunkLines: 5, lineConcurrency: 2 },
};

function servicesWith(table: Table, settings: typeof SETTINGS = SETTINGS): Services {
  return createServices({
    table,
    logTable: logTable(),
    blobs: new Blobs(async () => s3, sluice.bucketName),
    queue: new JobQueue(async () => sqs, queueUrl),
    settings,
  });
}

/** Services on the real table, without faults; made once the test queue exists. */
let healthy: Services;

/**
 * A new user's batch of `count` lines, started and planned (chunks of 5 lines): chat
 * completions unless told otherwise.
 */
async function plannedBatch(
  count: number,
  endpoint: "/v1/chat/completions" | "/v1/embeddings" = "/v1/chat/completions",
  body: (i: number) => Json = (i) => ({
    model,
    messages: [{ role: "user", content: `line ${i}` }],
  }),
) {
  const user = await createUserWithKey();
  const client = openai(user.secret);
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({ custom_id: `c-${i}`, method: "POST", url: endpoint, body: body(i) }),
  );
  const file = await client.files.create({
    file: await toFile(Buffer.from(lines.join("\n")), "in.jsonl"),
    purpose: "batch",
  });
  const key = (await api(user.accessToken, "GET", "/api/token/")).body.data[0] as Json;
  const batch = await startBatch(healthy, {
    userId: user.id,
    keyId: key.id,
    endpoint,
    inputFileId: file.id,
    metadata: null,
    outputTtlSeconds: 3 * 3_600,
  });
  await planBatch(healthy, batch.id);
  return { user, client, batch, lines };
}

beforeAll(async () => {
  queueUrl = (
    await sqs.send(new CreateQueueCommand({ QueueName: `faults-${randomUUID().slice(0, 8)}` }))
  ).QueueUrl as string;
  ({ upstream, model } = await createFixtureChannel({ price: { input: 10, output: 30 } }));
  healthy = servicesWith(
    new Table(
      sdkTransport(new DynamoDBClient({ endpoint: sluice.dynamoEndpoint, ...local })),
      sluice.tableName,
    ),
  );
});
afterAll(async () => {
  await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  sqs.destroy();
  await upstream.close();
});

describe("a worker that dies mid-chunk", () => {
  it("is finished by the redelivery, with no line lost, duplicated or billed twice", async () => {
    const { user, client, batch, lines } = await plannedBatch(12);

    // The first chunk's worker records three lines and dies.
    const crashing = servicesWith(new CrashingTable(3));
    await expect(
      runChunk(crashing, batch.id, 0, {
        deadline: Date.now() + 60_000,
        hardDeadline: Date.now() + 60_000,
        owner: "doomed",
      }),
    ).rejects.toThrow("simulated crash");
    expect((await client.batches.retrieve(batch.id)).status).toBe("in_progress");

    // Redelivery: the real steps, fed by a poller as Lambda's event source would.
    const worker = createWorker(batchSteps(healthy));
    const poller = startSqsPoller({
      sqs,
      queueUrl,
      queueArn: "arn:aws:sqs:us-east-1:000000000000:faults",
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        const batchItemFailures = [];
        for (const record of event.Records) {
          try {
            await worker.handle(record.body, {
              deadline: Date.now() + 60_000,
              hardDeadline: Date.now() + 60_000,
              owner: record.messageId,
            });
          } catch {
            batchItemFailures.push({ itemIdentifier: record.messageId });
          }
        }
        return { batchItemFailures };
      },
      functionName: "faults-worker",
      batchSize: 1,
      concurrency: 3,
    });
    try {
      const done = await eventually(
        () => client.batches.retrieve(batch.id),
        (b) => b.status === "completed",
        30_000,
      );
      expect(done.request_counts).toEqual({ total: 12, completed: 12, failed: 0 });
      const output = (await (await client.files.content(done.output_file_id as string)).text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(output.map((l) => l.custom_id).sort()).toEqual(lines.map((_, i) => `c-${i}`).sort());
      const logs: Json[] = await eventually(
        async () =>
          (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data.filter(
            (l: Json) => l.batch_id === batch.id,
          ),
        (entries: Json[]) => entries.filter((l) => l.outcome === "completed").length >= 12,
      );
      const billed = logs.filter((l) => l.outcome === "completed");
      expect(billed).toHaveLength(12);
      expect(new Set(billed.map((l) => l.request_id)).size).toBe(12);
      // The line whose result could not be recorded gave its hold back without a log line
      // (for the customer it never ran), and runs again.
      expect(logs.filter((l) => l.outcome !== "completed")).toEqual([]);
      await settledAccount(user.id);
      const self = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
      expect(self.used_quota).toBe(billed.reduce((sum: number, l: Json) => sum + l.quota, 0));
      // No hold is left outstanding: what can still be held is the whole remaining balance.
      expect((await healthy.users.get(user.id, true))?.account.available).toBe(self.total_quota);
    } finally {
      await poller.stop();
    }
    const leftover = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }),
    );
    expect(leftover.Messages ?? []).toEqual([]);
  }, 60_000);
});

describe("a worker that runs out of time", () => {
  /** How long DynamoDB takes to answer a slowed hold: past the hard deadline. */
  const SLOW_HOLD_MS = 7_000;
  /** The upstream requests that carried this batch's lines (their text names the batch). */
  const sentFor = (tag: string) =>
    upstream.requests.filter((r) => JSON.stringify(r.body ?? "").includes(tag)).length;
  const tagged = (tag: string) => (i: number) => ({
    model,
    messages: [{ role: "user", content: `${tag} line ${i}` }],
  });

  /** The chunk recorded nothing, queued itself to carry on, and its user paid nothing. */
  async function expectPutOff(user: TestUser, batchId: string) {
    expect(await healthy.batches.results(batchId, 0)).toEqual([]);
    const queued = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }),
    );
    expect(queued.Messages?.map((m) => JSON.parse(m.Body as string))).toEqual([
      { type: "batch.chunk", batchId, chunk: 0 },
    ]);
    await settledAccount(user.id);
    const self = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
    expect(self.used_quota).toBe(0);
    expect((await healthy.users.get(user.id, true))?.account.available).toBe(self.total_quota);
  }

  /** The next delivery, with a whole invocation, runs every line. */
  async function expectNextRunsAll(batchId: string) {
    await runChunk(healthy, batchId, 0, {
      deadline: Date.now() + 60_000,
      hardDeadline: Date.now() + 60_000,
      owner: "next",
    });
    const results = await healthy.batches.results(batchId, 0);
    expect(results.map((r) => r.customId).sort()).toEqual(["c-0", "c-1", "c-2", "c-3", "c-4"]);
    expect(results.every((r) => r.ok)).toBe(true);
  }

  it("cancels a line still running at the hard deadline, gives its hold back and queues it", async () => {
    // Here the line's hold, which DynamoDB answers after the hard deadline. The request went
    // upstream while the hold was written (relay.ts holdWhileOpening), so those lines are paid
    // upstream twice: a line cut at the hard deadline runs again (known; see the README).
    const tag = `cut-${randomUUID().slice(0, 8)}`;
    const { user, batch } = await plannedBatch(5, "/v1/chat/completions", tagged(tag));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    const quick = { ...healthy.settings, upstreamTimeoutMs: 200 };
    let slowed = 0;
    const slow = servicesWith(
      new HookedTable({
        beforeAccountUpdate: async () => {
          if (slowed++ < 2) await sleep(SLOW_HOLD_MS);
        },
      }),
      quick,
    );
    const started = Date.now();
    await runChunk(slow, batch.id, 0, {
      // Time to start the first two lines (whose holds then wait past the hard deadline), on a
      // loaded machine too: with 200 ms the chunk once started none (the lease, the batch and
      // its input read first) and there was nothing to cut.
      deadline: started + 3_000,
      hardDeadline: started + SLOW_HOLD_MS - 1_500,
      owner: "short-lived",
    });
    expect(slowed).toBeGreaterThanOrEqual(1);
    expect(sentFor(tag)).toBe(2); // the two lines started (two at a time)
    await expectPutOff(user, batch.id);
    // The next delivery (the lease was given back) runs every line, each sent once.
    await expectNextRunsAll(batch.id);
    expect(sentFor(tag)).toBe(2 + 5);
  }, 40_000);
});

describe("a line's result whose write landed and whose answer was lost", () => {
  it("counts as recorded by its own run: the line is billed, once", async () => {
    const { user, client, batch } = await plannedBatch(5);
    const proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    // The worker's table answers through the proxy, which loses the answer to one result's
    // write once DynamoDB has applied it: the write is sent again, and finds the line taken.
    const table = functionTable(instanceEnv(sluice, { dynamoEndpoint: proxy.endpoint }));
    let lost = false;
    proxy.inject({
      match: (r) => {
        const hit = r.operation === "PutItem" && JSON.stringify(r.body.Item).includes("RESULT#");
        lost ||= hit;
        return hit;
      },
      fault: { kind: "drop-answer" },
    });
    try {
      await runChunk(servicesWith(table), batch.id, 0, unhurried("lossy"));
    } finally {
      table.transport.destroy?.();
      await proxy.close();
    }
    expect(lost).toBe(true);
    await finalizeBatch(healthy, batch.id);
    const done = await client.batches.retrieve(batch.id);
    expect(done.request_counts).toEqual({ total: 5, completed: 5, failed: 0 });
    const output = (await (await client.files.content(done.output_file_id as string)).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    // Every line in the output file was billed, by the run whose result it shows.
    const billed: Json[] = await eventually(
      async () =>
        (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data.filter(
          (l: Json) => l.batch_id === batch.id && l.outcome === "completed",
        ),
      (entries: Json[]) => entries.length >= 5,
    );
    expect(billed.map((l) => l.request_id).sort()).toEqual(
      output.map((l) => l.response.request_id).sort(),
    );
    await settledAccount(user.id);
    const self = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
    expect(self.used_quota).toBe(billed.reduce((sum: number, l: Json) => sum + l.quota, 0));
    expect((await healthy.users.get(user.id, true))?.account.available).toBe(self.total_quota);
  }, 30_000);
});

describe("a chunk delivered again after it finished", () => {
  it("queues finalize again when the first delivery died before queueing it", async () => {
    const { client, batch } = await plannedBatch(5);
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    // The worker finishes the chunk, then dies before finalize is queued.
    const dying = servicesWith(healthy.table);
    dying.queue.send = async () => {
      throw new Error("simulated crash: the worker died before queueing finalize");
    };
    await expect(runChunk(dying, batch.id, 0, unhurried("dying"))).rejects.toThrow("simulated");
    expect((await client.batches.retrieve(batch.id)).status).toBe("in_progress");

    // The redelivered chunk message has nothing left to run, but queues finalize.
    await runChunk(healthy, batch.id, 0, unhurried("redelivery"));
    const queued = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }),
    );
    expect(queued.Messages?.map((m) => JSON.parse(m.Body as string))).toEqual([
      { type: "batch.finalize", batchId: batch.id },
    ]);
    await finalizeBatch(healthy, batch.id);
    expect((await client.batches.retrieve(batch.id)).request_counts).toEqual({
      total: 5,
      completed: 5,
      failed: 0,
    });
  }, 30_000);
});

describe("a window that ends before the janitor marks the batch", () => {
  it("makes the batch expired, with the unrun lines in the error file", async () => {
    const { client, batch } = await plannedBatch(10);
    await runChunk(healthy, batch.id, 0, unhurried("first"));
    // The 24 h window ends between the two chunks; the janitor has not swept yet.
    await healthy.batches.transition(batch.id, WINDOW_ENDS, {
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    await runChunk(healthy, batch.id, 1, unhurried("second"));
    await finalizeBatch(healthy, batch.id);

    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe("expired");
    expect(done.expired_at).toBe(done.expires_at);
    expect(done.request_counts).toEqual({ total: 10, completed: 5, failed: 5 });
    const errors = (await (await client.files.content(done.error_file_id as string)).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(errors.map((l) => [l.custom_id, l.error.code]).sort()).toEqual(
      ["c-5", "c-6", "c-7", "c-8", "c-9"].map((id) => [id, "batch_expired"]),
    );
  }, 30_000);
});

/**
 * The janitor marks a batch past its window expired, and after the grace period forces it
 * final without waiting for chunks that are still running. Its two sweeps are done here by
 * hand (the same calls it makes), not with runJanitor: the janitor's agenda is shared with
 * every other test and with the local stack's own janitor.
 */
describe("an expired batch forced final while a chunk still runs", () => {
  /**
   * Runs chunk 0 of a new 10-line batch (chunks of 5, 2 lines at a time) with its first two
   * lines held just before their results are written; `expire` does the janitor's sweeps,
   * and the lines are let go when it says so. Returns what happened, to check.
   */
  async function holdLinesWhile(expire: (batchId: string, letGo: () => void) => Promise<void>) {
    const planned = await plannedBatch(10);
    const before = upstream.requests.length;
    const hold = gate();
    let waiting = 0;
    const worker = servicesWith(
      new HookedTable({
        beforeResultPut: async () => {
          waiting++;
          await hold.promise;
        },
      }),
    );
    const running = runChunk(worker, planned.batch.id, 0, unhurried("outlived"));
    await eventually(
      async () => waiting,
      (n) => n >= 2,
    );
    // The worker re-reads the batch at most once a second: past that, it sees the expiry as
    // soon as its two lines are done, and starts no other.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await expire(planned.batch.id, hold.open);
    hold.open();
    await running;
    return { ...planned, runs: upstream.requests.length - before };
  }

  /** The janitor's first sweep: the batch is expired, and no new line starts. */
  async function markExpired(batchId: string) {
    await healthy.batches.transition(batchId, MOVES.expire, {
      expiredAt: Math.floor(Date.now() / 1000),
    });
  }

  /**
   * Every line once, in the output file (and billed once) or in the error file (and not
   * billed), and request_counts that say the same, now and after the chunk has finished.
   */
  async function expectEachLineOnce(
    run: Awaited<ReturnType<typeof holdLinesWhile>>,
  ): Promise<{ output: Json[]; errors: Json[] }> {
    const { user, client, batch, lines, runs } = run;
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe("expired");
    const read = async (id: string | null | undefined): Promise<Json[]> =>
      id
        ? (await (await client.files.content(id)).text())
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l))
        : [];
    const output = await read(done.output_file_id);
    const errors = await read(done.error_file_id);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual(
      lines.map((_, i) => `c-${i}`).sort(),
    );
    expect(done.request_counts).toEqual({
      total: 10,
      completed: output.length,
      failed: errors.length,
    });
    // Each line whose result was recorded left one usage log line and was billed; a line
    // whose result was not kept gave its hold back, without a line.
    const logs: Json[] = await eventually(
      async () =>
        (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data.filter(
          (l: Json) => l.batch_id === batch.id,
        ),
      (entries: Json[]) => entries.length >= output.length,
    );
    expect(logs.length).toBeLessThanOrEqual(runs);
    const billed = logs.filter((l) => l.outcome === "completed");
    expect(billed.map((l) => l.request_id).sort()).toEqual(
      output.map((l) => l.response.request_id).sort(),
    );
    await settledAccount(user.id);
    const self = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
    expect(self.used_quota).toBe(billed.reduce((sum: number, l: Json) => sum + l.quota, 0));
    expect((await healthy.users.get(user.id, true))?.account.available).toBe(self.total_quota);
    return { output, errors };
  }

  it("neither bills nor counts the lines that finish after it", async () => {
    const run = await holdLinesWhile(async (batchId) => {
      await markExpired(batchId);
      await finalizeBatch(healthy, batchId, { force: true });
    });
    const { output, errors } = await expectEachLineOnce(run);
    // The two lines finished too late: expired, like the eight that never started.
    expect(run.runs).toBe(2);
    expect(output).toEqual([]);
    expect(errors.every((l) => l.error?.code === "batch_expired")).toBe(true);
  }, 30_000);

  it("keeps the lines recorded while it runs, in the output file and billed once", async () => {
    const run = await holdLinesWhile(async (batchId, letGo) => {
      await markExpired(batchId);
      // The two lines are recorded just after finalize has first read the results.
      let first = true;
      const finalizer = servicesWith(
        new HookedTable({
          afterResultsRead: async () => {
            if (!first) return;
            first = false;
            letGo();
            await eventually(
              () => healthy.batches.results(batchId, 0),
              (results) => results.length >= 2,
            );
          },
        }),
      );
      await finalizeBatch(finalizer, batchId, { force: true });
    });
    const { output, errors } = await expectEachLineOnce(run);
    expect(run.runs).toBe(2);
    expect(output.map((l) => l.custom_id).sort()).toEqual(["c-0", "c-1"]);
    expect(errors.every((l) => l.error?.code === "batch_expired")).toBe(true);
  }, 30_000);
});

describe("a delivery that read its chunk just before another delivery finished it", () => {
  it("runs none of its lines, though the batch it read was still in progress", async () => {
    const { user, client, batch } = await plannedBatch(5);
    const before = upstream.requests.length;
    const readChunk = gate();
    const goOn = gate();
    let paused = false;
    const late = servicesWith(
      new HookedTable({
        afterChunkRead: async () => {
          if (paused) return;
          paused = true;
          readChunk.open();
          await goOn.promise;
        },
      }),
    );
    // This delivery has read the batch (in progress) and its chunk (pending), and waits.
    const running = runChunk(late, batch.id, 0, unhurried("late")).catch((err: Error) => err);
    await readChunk.promise;
    // Meanwhile the batch is cancelled, the first delivery finishes the chunk (with no line
    // run) and finalize makes the batch cancelled.
    await healthy.batches.transition(batch.id, MOVES.cancel, {
      cancellingAt: Math.floor(Date.now() / 1000),
    });
    await runChunk(healthy, batch.id, 0, unhurried("first"));
    await finalizeBatch(healthy, batch.id);
    goOn.open();
    // The chunk is done, so the late delivery cannot take it (it fails, and its redelivery
    // finds the chunk done).
    expect(await running).toBeInstanceOf(Error);

    expect(upstream.requests.length - before).toBe(0);
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe("cancelled");
    expect(done.request_counts).toEqual({ total: 5, completed: 0, failed: 0 });
    const logs = (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data;
    expect(logs.filter((l: Json) => l.batch_id === batch.id)).toEqual([]);
  }, 30_000);
});

describe("an output line too big for a table item", () => {
  it("is kept in S3 and still lands in the output file, once", async () => {
    // 3,072-dimension embeddings of 12 inputs: about 700 KB of JSON in one output line.
    const inputs = Array.from({ length: 12 }, (_, i) => `text ${i}`);
    const { client, batch } = await plannedBatch(2, "/v1/embeddings", () => ({
      model,
      input: inputs,
      dimensions: 3072,
    }));
    await runChunk(healthy, batch.id, 0, unhurried("big"));
    const results = await healthy.batches.results(batch.id, 0);
    expect(results).toHaveLength(2);
    expect(results.every((r) => r.ok && r.output === "" && r.outputBlobKey)).toBe(true);

    await finalizeBatch(healthy, batch.id);
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe("completed");
    const output = (await (await client.files.content(done.output_file_id as string)).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(output.map((l) => l.custom_id).sort()).toEqual(["c-0", "c-1"]);
    for (const line of output) {
      expect(line.response.status_code).toBe(200);
      expect(line.response.body.data).toHaveLength(12);
      expect(line.response.body.data[0].embedding).toHaveLength(3072);
    }
  }, 30_000);
});

describe("a chunk another worker holds", () => {
  it("defers its delivery with a line at info, not a failure with a stack", async () => {
    const { batch } = await plannedBatch(5);
    const now = Math.floor(Date.now() / 1000);
    expect(
      await healthy.batches.leaseChunk(batch.id, 0, "another worker", now + LEASE_SECONDS, now),
    ).toBe(true);
    const { log, lines } = capturedLog({ level: "INFO" });
    const handler = batchWorkerHandler({ ...healthy, log });
    const record = (messageId: string, body: Json) =>
      ({
        messageId,
        body: JSON.stringify(body),
        attributes: { ApproximateReceiveCount: "2" },
      }) as SQSRecord;
    const result = await handler(
      {
        Records: [
          record("leased", { type: "batch.chunk", batchId: batch.id, chunk: 0 }),
          // For contrast, a step that does fail.
          record("broken", { type: "batch.unheard-of" }),
        ],
      },
      localContext("sluice-batch-worker"),
      { signal: new AbortController().signal },
    );
    // Both come back (SQS redelivers them); only the second is a failure.
    expect(result).toEqual({
      batchItemFailures: [{ itemIdentifier: "leased" }, { itemIdentifier: "broken" }],
    });
    expect(lines).toEqual([
      expect.objectContaining({
        level: "INFO",
        message: "batch step deferred",
        messageId: "leased",
        function_name: "sluice-batch-worker",
        reason: `chunk 0 of ${batch.id} is being run by another worker`,
      }),
      expect.objectContaining({
        level: "ERROR",
        message: "batch step failed",
        messageId: "broken",
        error: expect.stringContaining("UnknownStepError"),
      }),
    ]);
    expect(lines[0]).not.toHaveProperty("error");
  });
});

/** A worker invocation with plenty of time left. */
function unhurried(owner: string) {
  return { deadline: Date.now() + 60_000, hardDeadline: Date.now() + 60_000, owner };
}
