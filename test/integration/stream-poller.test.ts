import { spawn } from "node:child_process";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamsRecord,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { freePort } from "../../infra/local/dynamodb-local";
import {
  compareSequenceNumbers,
  type StreamPoller,
  type StreamPollerOptions,
  startStreamPoller,
} from "../../infra/local/stream-poller";
import { capturedLog } from "../fixtures/logs";
import { sluice } from "./support";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
/** The run's DynamoDB Local: each test makes a table of its own. */
const local = { endpoint: sluice.dynamoEndpoint };
let dynamo: DynamoDBClient;
let streams: DynamoDBStreamsClient;
const pollers: StreamPoller[] = [];
let tables = 0;

beforeAll(async () => {
  dynamo = new DynamoDBClient({ endpoint: local.endpoint, region: "us-east-1", credentials });
  streams = new DynamoDBStreamsClient({
    endpoint: local.endpoint,
    region: "us-east-1",
    credentials,
  });
}, 60_000);

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  vi.restoreAllMocks();
});

afterAll(async () => {
  dynamo?.destroy();
  streams?.destroy();
});

type ViewType = "KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES";

/** A table of its own for each test, with a stream. */
async function newTable(view: ViewType = "NEW_AND_OLD_IMAGES", client = dynamo): Promise<string> {
  const name = `streams-${++tables}`;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: view },
    }),
  );
  return name;
}

async function put(
  table: string,
  pk: string,
  attributes: Record<string, AttributeValue> = {},
  client = dynamo,
): Promise<void> {
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: { pk: { S: pk }, sk: { S: "item" }, ...attributes },
    }),
  );
}

async function putMany(table: string, count: number, prefix = "item"): Promise<void> {
  for (let i = 0; i < count; i++) await put(table, `${prefix}-${i}`, { n: { N: String(i) } });
}

async function streamArn(table: string): Promise<string> {
  const out = await dynamo.send(new DescribeTableCommand({ TableName: table }));
  return out.Table?.LatestStreamArn as string;
}

/** A handler that keeps each successful event; `answer` may throw or report failures. */
function recorder(
  answer?: (event: DynamoDBStreamEvent, call: number) => DynamoDBBatchResponse | undefined,
) {
  const calls: DynamoDBStreamEvent[] = [];
  const handled: DynamoDBRecord[] = [];
  const handler = async (event: DynamoDBStreamEvent) => {
    calls.push(structuredClone(event));
    const result = answer?.(event, calls.length);
    if (!result) handled.push(...event.Records);
    return result;
  };
  return { calls, handled, handler };
}

function start(
  table: string,
  handler: StreamPollerOptions["handler"],
  options: Partial<StreamPollerOptions> = {},
): StreamPoller {
  const poller = startStreamPoller({
    dynamo,
    streams,
    tableName: table,
    handler,
    functionName: "sluice-test-consumer",
    pollIntervalMs: 20,
    retryDelayMs: 20,
    ...options,
  });
  pollers.push(poller);
  return poller;
}

const pks = (records: DynamoDBRecord[]) => records.map((r) => r.dynamodb?.Keys?.pk?.S);
const seqs = (records: DynamoDBRecord[]) => records.map((r) => r.dynamodb?.SequenceNumber);

function expectAscending(sequenceNumbers: (string | undefined)[]): void {
  for (let i = 1; i < sequenceNumbers.length; i++) {
    expect(
      compareSequenceNumbers(sequenceNumbers[i - 1] as string, sequenceNumbers[i] as string),
    ).toBe(-1);
  }
}

/** A TCP proxy in front of DynamoDB Local that can be cut (connections refused) and restored. */
async function tcpProxy(target: URL) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on("close", () => sockets.delete(socket));
          socket.on("error", () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      next.once("error", reject);
      next.listen(port, "127.0.0.1", () => {
        server = next;
        resolve();
      });
    });
  await listen();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async cut() {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (closing) await new Promise((resolve) => closing.close(resolve));
    },
    restore: listen,
  };
}

describe("the DynamoDB Streams poller", { timeout: 30_000 }, () => {
  it("hands over every change in order, shaped as Lambda's DynamoDB stream events", async () => {
    const table = await newTable();
    const arn = await streamArn(table);
    const { handled, handler } = recorder();
    const poller = start(table, handler);
    const before = Math.floor(Date.now() / 1000);
    await put(table, "a", { v: { N: "1" }, raw: { B: new Uint8Array([0, 255, 7]) } });
    await dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: "a" }, sk: { S: "item" } },
        UpdateExpression: "SET v = :v, tags = :tags, doc = :doc",
        ExpressionAttributeValues: {
          ":v": { N: "2" },
          ":tags": { SS: ["x", "y"] },
          ":doc": {
            M: { list: { L: [{ BOOL: true }, { NULL: true }, { BS: [new Uint8Array([1])] }] } },
          },
        },
      }),
    );
    await put(table, "b");
    await dynamo.send(
      new DeleteItemCommand({ TableName: table, Key: { pk: { S: "a" }, sk: { S: "item" } } }),
    );
    await poller.drain();

    expect(handled.map((r) => [r.eventName, r.dynamodb?.Keys?.pk?.S])).toEqual([
      ["INSERT", "a"],
      ["MODIFY", "a"],
      ["INSERT", "b"],
      ["REMOVE", "a"],
    ]);
    expectAscending(seqs(handled));
    for (const record of handled) {
      expect(Object.keys(record)).toEqual([
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
      ]);
      expect(record).toMatchObject({
        eventID: expect.any(String),
        eventVersion: "1.1",
        eventSource: "aws:dynamodb",
        awsRegion: expect.any(String),
        eventSourceARN: arn,
      });
      const change = record.dynamodb;
      expect(change?.StreamViewType).toBe("NEW_AND_OLD_IMAGES");
      expect(change?.SizeBytes).toBeGreaterThan(0);
      expect(change?.SequenceNumber).toMatch(/^\d{21,40}$/);
      // Epoch seconds (DynamoDB Local rounds down to the minute).
      expect(Number.isInteger(change?.ApproximateCreationDateTime)).toBe(true);
      expect(change?.ApproximateCreationDateTime).toBeGreaterThan(before - 120);
      expect(change?.ApproximateCreationDateTime).toBeLessThanOrEqual(before + 120);
    }
    const [insert, modify, , remove] = handled;
    expect(Object.keys(insert?.dynamodb ?? {})).toEqual([
      "ApproximateCreationDateTime",
      "Keys",
      "NewImage",
      "SequenceNumber",
      "SizeBytes",
      "StreamViewType",
    ]);
    expect(insert?.dynamodb?.Keys).toEqual({ pk: { S: "a" }, sk: { S: "item" } });
    // Binary values in base64, as in Lambda's JSON.
    expect(insert?.dynamodb?.NewImage).toEqual({
      pk: { S: "a" },
      sk: { S: "item" },
      v: { N: "1" },
      raw: { B: "AP8H" },
    });
    expect(modify?.dynamodb?.OldImage?.v).toEqual({ N: "1" });
    expect(modify?.dynamodb?.NewImage).toMatchObject({
      v: { N: "2" },
      tags: { SS: ["x", "y"] },
      doc: { M: { list: { L: [{ BOOL: true }, { NULL: true }, { BS: ["AQ=="] }] } } },
    });
    expect(remove?.dynamodb?.NewImage).toBeUndefined();
    expect(remove?.dynamodb?.OldImage?.pk).toEqual({ S: "a" });
    // The event survives Lambda's JSON round trip unchanged.
    expect(JSON.parse(JSON.stringify(handled))).toEqual(handled);
  });

  it("keeps each item's changes in order across many interleaved writes", async () => {
    const table = await newTable("NEW_IMAGE");
    const { handled, calls, handler } = recorder();
    const poller = start(table, handler, { batchSize: 7 });
    const items = ["p", "q", "r", "s"];
    for (let round = 0; round < 10; round++) {
      for (const pk of items) await put(table, pk, { round: { N: String(round) } });
    }
    await poller.drain();
    expect(handled).toHaveLength(40);
    expect(calls.every((c) => c.Records.length <= 7)).toBe(true);
    expectAscending(seqs(handled));
    for (const pk of items) {
      const rounds = handled
        .filter((r) => r.dynamodb?.Keys?.pk?.S === pk)
        .map((r) => Number(r.dynamodb?.NewImage?.round?.N));
      expect(rounds).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    // NEW_IMAGE: no old images.
    expect(handled.every((r) => r.dynamodb?.OldImage === undefined)).toBe(true);
  });

  it("gives only the keys on a KEYS_ONLY stream", async () => {
    const table = await newTable("KEYS_ONLY");
    const { handled, handler } = recorder();
    const poller = start(table, handler);
    await put(table, "k", { v: { N: "1" } });
    await put(table, "k", { v: { N: "2" } });
    await poller.drain();
    expect(handled.map((r) => r.eventName)).toEqual(["INSERT", "MODIFY"]);
    for (const record of handled) {
      expect(record.dynamodb?.StreamViewType).toBe("KEYS_ONLY");
      expect(record.dynamodb?.NewImage).toBeUndefined();
      expect(record.dynamodb?.OldImage).toBeUndefined();
    }
  });

  it("invokes with at most batchSize records", async () => {
    const table = await newTable();
    await putMany(table, 10);
    const { calls, handled, handler } = recorder();
    const poller = start(table, handler, { batchSize: 3 });
    await poller.drain();
    expect(calls.map((c) => c.Records.length)).toEqual([3, 3, 3, 1]);
    expect(pks(handled)).toEqual(Array.from({ length: 10 }, (_, i) => `item-${i}`));
  });

  it("gathers records for the batching window before invoking", async () => {
    const table = await newTable();
    const invokedAt: number[] = [];
    const { calls, handler } = recorder(() => {
      invokedAt.push(Date.now());
      return undefined;
    });
    // Long enough for five writes to DynamoDB Local on a loaded machine (800 ms was not).
    const poller = start(table, handler, { maxBatchingWindowMs: 3_000 });
    await poller.drain();
    const firstWrite = Date.now();
    for (let i = 0; i < 5; i++) {
      await put(table, `w-${i}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await poller.drain();
    expect(calls.map((c) => c.Records.length)).toEqual([5]);
    expect((invokedAt[0] as number) - firstWrite).toBeGreaterThanOrEqual(2_900);
  });

  it("invokes a full batch at once, whatever the batching window", async () => {
    const table = await newTable();
    const invokedAt: number[] = [];
    const { calls, handler } = recorder(() => {
      invokedAt.push(Date.now());
      return undefined;
    });
    const poller = start(table, handler, { maxBatchingWindowMs: 20_000, batchSize: 3 });
    await poller.drain();
    const firstWrite = Date.now();
    await putMany(table, 3);
    await poller.drain();
    expect(calls.map((c) => c.Records.length)).toEqual([3]);
    expect((invokedAt[0] as number) - firstWrite).toBeLessThan(5_000);
  });

  it("drops the records the filter rejects, without invoking, and counts them as processed", async () => {
    const table = await newTable();
    const kinds = ["usage", "other", "usage", "usage", "other", "usage", "other", "other"];
    for (const [i, kind] of kinds.entries()) await put(table, `f-${i}`, { kind: { S: kind } });
    // A modification of a matching item does not match (INSERT only).
    await put(table, "f-0", { kind: { S: "usage" }, again: { BOOL: true } });
    const { calls, handled, handler } = recorder();
    const poller = start(table, handler, {
      batchSize: 2,
      filter: (record) =>
        record.eventName === "INSERT" && record.dynamodb?.NewImage?.kind?.S === "usage",
    });
    // drain() resolves although the last records were all filtered out.
    await poller.drain();
    expect(pks(handled)).toEqual(["f-0", "f-2", "f-3", "f-5"]);
    expect(calls.map((c) => c.Records.length)).toEqual([2, 2]);
  });

  it("retries a batch whose handler threw, from the same first record, skipping nothing", async () => {
    const table = await newTable();
    await putMany(table, 5);
    const { log, lines } = capturedLog();
    const { calls, handled, handler } = recorder((_event, call) => {
      if (call === 1) throw new Error("the rollup table is busy");
      return undefined;
    });
    const poller = start(table, handler, { batchSize: 3, log });
    await poller.drain();
    expect(calls.map((c) => pks(c.Records))).toEqual([
      ["item-0", "item-1", "item-2"],
      ["item-0", "item-1", "item-2"],
      ["item-3", "item-4"],
    ]);
    // The very same records again, eventIDs included.
    expect(calls[1]).toEqual(calls[0]);
    expect(pks(handled)).toEqual(["item-0", "item-1", "item-2", "item-3", "item-4"]);
    expect(lines).toEqual([
      expect.objectContaining({
        level: "ERROR",
        message: "the function failed",
        error: expect.objectContaining({ message: "the rollup table is busy" }),
      }),
    ]);
  });

  it("resumes from the first reported batchItemFailure", async () => {
    const table = await newTable();
    await putMany(table, 5);
    vi.spyOn(console, "error").mockImplementation(() => {});
    const handled: string[] = [];
    const calls: string[][] = [];
    const poller = start(
      table,
      async (event) => {
        const batch = event.Records;
        calls.push(pks(batch) as string[]);
        if (calls.length > 1) {
          handled.push(...(pks(batch) as string[]));
          return { batchItemFailures: [] };
        }
        // Records 2 and 4 failed: Lambda resumes from the lower sequence number, record 2.
        handled.push(...(pks(batch.slice(0, 2)) as string[]));
        const failed = [batch[4], batch[2]].map((r) => ({
          itemIdentifier: r?.dynamodb?.SequenceNumber as string,
        }));
        return { batchItemFailures: failed };
      },
      { reportBatchItemFailures: true },
    );
    await poller.drain();
    expect(calls).toEqual([
      ["item-0", "item-1", "item-2", "item-3", "item-4"],
      ["item-2", "item-3", "item-4"],
    ]);
    expect(handled).toEqual(["item-0", "item-1", "item-2", "item-3", "item-4"]);
  });

  it("retries the whole batch when a failure names no record of it", async () => {
    const table = await newTable();
    await putMany(table, 3);
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { calls, handler } = recorder((_event, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: "" }] } : undefined,
    );
    const poller = start(table, handler, { reportBatchItemFailures: true });
    await poller.drain();
    expect(calls.map((c) => pks(c.Records))).toEqual([
      ["item-0", "item-1", "item-2"],
      ["item-0", "item-1", "item-2"],
    ]);
  });

  it("ignores batchItemFailures unless reportBatchItemFailures is on, as Lambda does", async () => {
    const table = await newTable();
    await putMany(table, 3);
    const calls: number[] = [];
    const poller = start(table, async (event) => {
      calls.push(event.Records.length);
      return {
        batchItemFailures: [
          { itemIdentifier: event.Records[0]?.dynamodb?.SequenceNumber as string },
        ],
      };
    });
    await poller.drain();
    expect(calls).toEqual([3]);
  });

  it("drain() waits for the records written before it to be handled", async () => {
    const table = await newTable();
    let handled = 0;
    const poller = start(
      table,
      async (event) => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        handled += event.Records.length;
      },
      { batchSize: 4 },
    );
    await putMany(table, 10);
    await poller.drain();
    expect(handled).toBe(10);
    // Nothing new: resolves at once.
    await poller.drain();
    await putMany(table, 2, "more");
    await poller.drain();
    expect(handled).toBe(12);
  });

  it("starts at LATEST when told, and reads the shards it finds later from their start", async () => {
    const table = await newTable();
    await putMany(table, 3, "old");
    const { handled, handler } = recorder();
    const poller = start(table, handler, { startingPosition: "LATEST" });
    await poller.drain();
    await putMany(table, 2, "new");
    await poller.drain();
    expect(pks(handled)).toEqual(["new-0", "new-1"]);
  });

  it("stop() waits for the invocation in flight and invokes nothing after", async () => {
    const table = await newTable();
    let release = () => {};
    const events: string[] = [];
    const poller = start(table, async (event) => {
      events.push(`start ${event.Records.length}`);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      events.push("end");
    });
    await put(table, "x");
    await vi.waitFor(() => expect(events).toEqual(["start 1"]), { timeout: 10_000 });
    await put(table, "y");
    const stopped = poller.stop().then(() => events.push("stopped"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual(["start 1"]);
    release();
    await stopped;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual(["start 1", "end", "stopped"]);
    await expect(poller.drain()).rejects.toThrow(/stopped/);
  });

  it("leaves nothing behind after stop(): its process exits by itself", async () => {
    const fixture = join(import.meta.dirname, "../fixtures/stream-poller-exit.ts");
    const child = spawn(process.execPath, ["--import", "tsx", fixture], {
      env: {
        ...process.env,
        STREAM_POLLER_ENDPOINT: local.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const timeout = new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 20_000));
    const outcome = await Promise.race([exited, timeout]);
    if (outcome === "hung") child.kill("SIGKILL");
    expect({ outcome, output: output.trim() }).toEqual({ outcome: 0, output: "handled 3" });
  });

  it("keeps going through DynamoDB Local being unreachable for a while", async () => {
    const table = await newTable();
    const proxy = await tcpProxy(new URL(local.endpoint));
    const config = { endpoint: proxy.endpoint, region: "us-east-1", credentials, maxAttempts: 1 };
    const viaProxy = {
      dynamo: new DynamoDBClient(config),
      streams: new DynamoDBStreamsClient(config),
    };
    const { log, lines } = capturedLog();
    try {
      const { handled, handler } = recorder();
      const poller = start(table, handler, { ...viaProxy, retryDelayMs: 50, log });
      for (const pk of ["a", "b"]) await put(table, pk);
      await poller.drain();
      await proxy.cut();
      // Written while the poller cannot reach DynamoDB Local.
      for (const pk of ["c", "d"]) await put(table, pk);
      await vi.waitFor(() => expect(lines.length).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
      await proxy.restore();
      await put(table, "e");
      await poller.drain();
      expect(pks(handled)).toEqual(["a", "b", "c", "d", "e"]);
      expect(lines[0]).toMatchObject({
        level: "WARN",
        message: expect.stringMatching(/^(reading a shard|DescribeStream) failed, retrying$/),
        retryInMs: expect.any(Number),
      });
    } finally {
      viaProxy.dynamo.destroy();
      viaProxy.streams.destroy();
      await proxy.cut();
    }
  });
});

/**
 * DynamoDB Local's server never rolls its shards over (its four-hourly rollover runs only when
 * it is embedded in a JVM), so shard lineage is tested on a stream made up here.
 */
describe("the DynamoDB Streams poller across shards", { timeout: 30_000 }, () => {
  const arn =
    "arn:aws:dynamodb:us-east-1:000000000000:table/rollups/stream/2026-01-01T00:00:00.000";

  function record(sequence: number, shard: string): StreamsRecord {
    return {
      eventID: `event-${sequence}`,
      eventName: "INSERT",
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: "us-east-1",
      dynamodb: {
        ApproximateCreationDateTime: new Date("2026-01-01T00:00:05Z"),
        Keys: { pk: { S: shard } },
        SequenceNumber: String(sequence * 100).padStart(21, "0"),
        SizeBytes: 12,
        StreamViewType: "KEYS_ONLY",
      },
    };
  }

  /** A stream of a closed parent split into two children, listed children first, a shard a page. */
  function fakeStream() {
    const shards: { id: string; parent?: string; records: StreamsRecord[]; closed?: boolean }[] = [
      { id: "child-a", parent: "parent", records: [6, 7, 8].map((s) => record(s, "child-a")) },
      { id: "child-b", parent: "parent", records: [9, 10].map((s) => record(s, "child-b")) },
      { id: "parent", records: [1, 2, 3, 4, 5].map((s) => record(s, "parent")), closed: true },
    ];
    const log: string[] = [];
    let failChildRead = true;
    const send = async (command: object) => {
      if (command instanceof DescribeStreamCommand) {
        const from = command.input.ExclusiveStartShardId;
        const index = from ? shards.findIndex((s) => s.id === from) + 1 : 0;
        const shard = shards[index];
        return {
          StreamDescription: {
            StreamArn: arn,
            Shards: shard
              ? [
                  {
                    ShardId: shard.id,
                    ParentShardId: shard.parent,
                    SequenceNumberRange: {
                      StartingSequenceNumber: shard.records[0]?.dynamodb?.SequenceNumber,
                      EndingSequenceNumber: shard.closed ? "000000000000000009999" : undefined,
                    },
                  },
                ]
              : [],
            LastEvaluatedShardId: index < shards.length - 1 ? shard?.id : undefined,
          },
        };
      }
      if (command instanceof GetShardIteratorCommand) {
        const { ShardId, ShardIteratorType, SequenceNumber } = command.input;
        log.push(`iterator ${ShardId} ${ShardIteratorType}`);
        const shard = shards.find((s) => s.id === ShardId);
        const records = shard?.records ?? [];
        const position =
          ShardIteratorType === "AFTER_SEQUENCE_NUMBER"
            ? records.findIndex((r) => r.dynamodb?.SequenceNumber === SequenceNumber) + 1
            : ShardIteratorType === "LATEST"
              ? records.length
              : 0;
        return { ShardIterator: `${ShardId}|${position}` };
      }
      if (command instanceof GetRecordsCommand) {
        const [id, at] = (command.input.ShardIterator as string).split("|");
        const shard = shards.find((s) => s.id === id);
        if (!shard) throw new Error(`no shard ${id}`);
        if (id === "child-a" && failChildRead) {
          failChildRead = false;
          log.push("read child-a failed");
          throw new Error("connect ECONNREFUSED 127.0.0.1:8000");
        }
        // Two records a page, so that a shard takes several reads.
        const position = Number(at);
        const page = shard.records.slice(position, position + 2);
        const next = position + page.length;
        const done = shard.closed && next >= shard.records.length;
        log.push(`read ${id} ${page.length}${done ? " end" : ""}`);
        return { Records: page, NextShardIterator: done ? undefined : `${id}|${next}` };
      }
      throw new Error(`unexpected command ${command.constructor.name}`);
    };
    return { shards, log, client: { send } as unknown as DynamoDBStreamsClient };
  }

  const fakeTable = {
    send: async () => ({
      Table: { LatestStreamArn: arn, StreamSpecification: { StreamEnabled: true } },
    }),
  } as unknown as DynamoDBClient;

  it("reads a child shard only once its parent is finished", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { log, client } = fakeStream();
    const batches: { shard: string; sequence: number[] }[] = [];
    let inFlight = 0;
    let overlapped = false;
    const poller = startStreamPoller({
      dynamo: fakeTable,
      streams: client,
      tableName: "rollups",
      functionName: "sluice-test-consumer",
      batchSize: 2,
      pollIntervalMs: 10,
      retryDelayMs: 10,
      handler: async (event) => {
        const shard = event.Records[0]?.dynamodb?.Keys?.pk?.S as string;
        if (shard === "parent" && inFlight > 0) overlapped = true;
        inFlight++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        batches.push({
          shard,
          sequence: event.Records.map((r) => Number(r.dynamodb?.SequenceNumber) / 100),
        });
      },
    });
    pollers.push(poller);
    await poller.drain();

    const of = (shard: string) =>
      batches.filter((b) => b.shard === shard).flatMap((b) => b.sequence);
    expect(of("parent")).toEqual([1, 2, 3, 4, 5]);
    expect(of("child-a")).toEqual([6, 7, 8]);
    expect(of("child-b")).toEqual([9, 10]);
    // Every parent batch before any child's, and no child read before the parent's end.
    const lastParentBatch = batches.findLastIndex((b) => b.shard === "parent");
    expect(batches.slice(0, lastParentBatch + 1).every((b) => b.shard === "parent")).toBe(true);
    expect(overlapped).toBe(false);
    const parentEnd = log.indexOf("read parent 1 end");
    expect(parentEnd).toBeGreaterThan(-1);
    expect(log.findIndex((line) => line.includes("child"))).toBeGreaterThan(parentEnd);
    // The failed read was retried with the same iterator: nothing lost, nothing twice.
    expect(log).toContain("read child-a failed");
    expect(log.filter((line) => line.startsWith("iterator child-a"))).toEqual([
      "iterator child-a TRIM_HORIZON",
    ]);
    // A batch per read (two records a page, batching window 0).
    expect(batches.slice(0, 3)).toEqual([
      { shard: "parent", sequence: [1, 2] },
      { shard: "parent", sequence: [3, 4] },
      { shard: "parent", sequence: [5] },
    ]);
    expect(batches).toHaveLength(6);
  });

  it("skips shards closed before a LATEST start, and reads shards found later whole", async () => {
    const { shards, log, client } = fakeStream();
    const handled: number[] = [];
    const poller = startStreamPoller({
      dynamo: fakeTable,
      streams: client,
      tableName: "rollups",
      functionName: "sluice-test-consumer",
      startingPosition: "LATEST",
      pollIntervalMs: 10,
      retryDelayMs: 10,
      handler: async (event) => {
        handled.push(...event.Records.map((r) => Number(r.dynamodb?.SequenceNumber) / 100));
      },
    });
    pollers.push(poller);
    vi.spyOn(console, "error").mockImplementation(() => {});
    await poller.drain();
    expect(log.some((line) => line.includes("parent"))).toBe(false);
    expect(log).toContain("iterator child-b LATEST");
    expect(handled).toEqual([]);

    // child-b gets a record, then rolls over into a new shard that already has two.
    const childB = shards[1];
    childB?.records.push(record(11, "child-b"));
    if (childB) childB.closed = true;
    shards.push({
      id: "grandchild",
      parent: "child-b",
      records: [12, 13].map((s) => record(s, "grandchild")),
    });
    await poller.drain();
    expect(handled).toEqual([11, 12, 13]);
    expect(log).toContain("iterator grandchild TRIM_HORIZON");
    expect(log.indexOf("iterator grandchild TRIM_HORIZON")).toBeGreaterThan(
      log.indexOf("read child-b 1 end"),
    );
  });
});
