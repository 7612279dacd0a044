import type { Logger } from "@aws-lambda-powertools/logger";
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type GetShardIteratorInput,
  type Shard,
  type AttributeValue as StreamAttributeValue,
  type _Record as StreamsRecord,
  TrimmedDataAccessException,
} from "@aws-sdk/client-dynamodb-streams";
import type {
  Context,
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  AttributeValue as LambdaAttributeValue,
  StreamRecord,
} from "aws-lambda";
import { localContext } from "./lambda-context";
import { standInLogger } from "./logs";

// middy's handler type names a third argument that the Lambda runtime never passes.
export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
  options: { signal: AbortSignal },
  // biome-ignore lint/suspicious/noConfusingVoidType: handlers that return nothing are fine
) => Promise<DynamoDBBatchResponse | undefined | void>;

/** Lambda's StartingPosition: where the shards that exist at start are read from. */
export type StartingPosition = "TRIM_HORIZON" | "LATEST";

export interface StreamPollerOptions {
  dynamo: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  /** The table whose stream (DescribeTable's LatestStreamArn) is read. */
  tableName: string;
  handler: StreamHandler;
  functionName: string;
  /** Records per invocation at most (Lambda: 1 to 10,000; default 100). */
  batchSize?: number;
  /**
   * How long to gather records before invoking, from the first record's arrival (Lambda's
   * MaximumBatchingWindowInSeconds, up to 300 s). 0, the default, invokes as soon as records
   * arrive; a full batch is invoked at once either way.
   */
  maxBatchingWindowMs?: number;
  /** Where the shards that exist at start are read from; shards found later are read whole. */
  startingPosition?: StartingPosition;
  /**
   * Lambda's filter criteria: records it rejects are dropped without an invocation and count
   * as processed.
   */
  filter?: (record: DynamoDBRecord) => boolean;
  /** Honour `{ batchItemFailures }` answers (Lambda's FunctionResponseTypes: ReportBatchItemFailures). */
  reportBatchItemFailures?: boolean;
  /** Wait between reads of a shard that had nothing new (Lambda: 4 reads a second). */
  pollIntervalMs?: number;
  /** First wait after a failure (handler or DynamoDB); it doubles up to 5 s while failures last. */
  retryDelayMs?: number;
  /** How often the stream's shard list is read again for new shards. */
  shardDiscoveryIntervalMs?: number;
  /** The poller's own Logger (failures of its own and the function's). */
  log?: Logger;
}

export interface StreamPoller {
  /** Stops polling and waits for the invocations in flight. */
  stop(): Promise<void>;
  /**
   * Resolves once every record written before the call has been handed to the handler
   * successfully (or dropped by the filter). Rejects if the poller is stopped first.
   */
  drain(): Promise<void>;
}

/**
 * What Lambda's DynamoDB Streams event source mapping does, on one machine: reads every shard
 * of a table's stream, a child shard only once its parent is finished, and invokes the
 * handler with Lambda-shaped batches, one at a time per shard and in order, shards in
 * parallel. A failed batch is retried from where it failed, after a backoff, for as long as
 * it fails: records are never skipped (Lambda's default of retrying until the records expire).
 */
export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const poller = new Poller(options);
  return { stop: () => poller.stop(), drain: () => poller.drain() };
}

const GET_RECORDS_LIMIT = 1000;
const MAX_RETRY_DELAY_MS = 5_000;

interface Pending {
  record: DynamoDBRecord;
  sequenceNumber: string;
  /** When the poller read it: the batching window runs from the oldest pending record's. */
  receivedAt: number;
}

interface ShardState {
  id: string;
  parentId: string | undefined;
  /** How the first iterator is taken; later ones continue after the last record read. */
  start: "TRIM_HORIZON" | "LATEST";
  iterator: string | undefined;
  /** Every record of the shard has been read: it was closed and GetRecords said so. */
  closed: boolean;
  /** Records read and not yet handled (those in flight included), in order. */
  pending: Pending[];
  /** The last sequence number read, filtered out or not. */
  lastRead: string | undefined;
  /** The clock tick at which the last read that found nothing new started. */
  caughtUpTick: number;
  /** `lastRead` as of that read: everything up to here was in the shard then. */
  caughtUpTo: string | undefined;
  finished: boolean;
  done: Promise<void>;
  markDone: () => void;
}

class Poller {
  private readonly controller = new AbortController();
  private readonly signal = this.controller.signal;
  private readonly stopped: Promise<void>;
  private readonly shards = new Map<string, ShardState>();
  private readonly loops = new Set<Promise<void>>();
  private readonly listeners = new Set<() => void>();
  private readonly main: Promise<void>;
  private readonly batchSize: number;
  private readonly windowMs: number;
  private readonly pollIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly discoveryIntervalMs: number;
  private readonly log: Logger;
  private streamArn = "";
  /** Orders events: reads and discoveries against drain calls. */
  private clock = 0;
  private discoveredTick = 0;
  private discoveryWanted = false;
  private wakeDiscovery: (() => void) | undefined;

  constructor(private readonly options: StreamPollerOptions) {
    this.log = options.log ?? standInLogger("stream-poller", options.functionName);
    this.batchSize = options.batchSize ?? 100;
    this.windowMs = options.maxBatchingWindowMs ?? 0;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.discoveryIntervalMs = options.shardDiscoveryIntervalMs ?? 10_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10_000) {
      throw new RangeError(`batchSize must be an integer from 1 to 10000, not ${this.batchSize}`);
    }
    if (!(this.windowMs >= 0 && this.windowMs <= 300_000)) {
      throw new RangeError(`maxBatchingWindowMs must be from 0 to 300000, not ${this.windowMs}`);
    }
    this.stopped = new Promise((resolve) =>
      this.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
    this.main = this.discoverShards().catch((err) =>
      this.log.error("shard discovery failed", err as Error),
    );
  }

  async stop(): Promise<void> {
    this.controller.abort();
    this.notify();
    await this.main;
    await Promise.allSettled([...this.loops]);
  }

  async drain(): Promise<void> {
    const since = ++this.clock;
    // Shards that exist now are listed by a discovery that starts after this call.
    this.requestDiscovery();
    await this.until(() => this.discoveredTick > since);
    const shards = [...this.shards.values()];
    await this.until(() => shards.every((shard) => drained(shard, since)));
  }

  // Shard discovery

  private async discoverShards(): Promise<void> {
    const streamArn = await this.findStream();
    if (streamArn === undefined) return;
    this.streamArn = streamArn;
    let initial = true;
    let failures = 0;
    while (!this.signal.aborted) {
      const tick = ++this.clock;
      this.discoveryWanted = false;
      try {
        this.addShards(await this.listShards(), initial);
      } catch (err) {
        if (this.signal.aborted) return;
        failures++;
        const wait = this.backoff(failures);
        this.log.warn("DescribeStream failed, retrying", { retryInMs: wait, error: brief(err) });
        await this.sleep(wait);
        continue;
      }
      initial = false;
      failures = 0;
      this.discoveredTick = tick;
      this.notify();
      if (this.discoveryWanted) continue;
      await this.sleep(this.discoveryIntervalMs, (wake) => {
        this.wakeDiscovery = wake;
      });
      this.wakeDiscovery = undefined;
    }
  }

  private requestDiscovery(): void {
    this.discoveryWanted = true;
    this.wakeDiscovery?.();
  }

  /** The table's current stream, as an event source mapping names it; undefined once stopped. */
  private async findStream(): Promise<string | undefined> {
    let failures = 0;
    while (!this.signal.aborted) {
      try {
        const out = await this.options.dynamo.send(
          new DescribeTableCommand({ TableName: this.options.tableName }),
          { abortSignal: this.signal },
        );
        const arn = out.Table?.LatestStreamArn;
        if (arn && out.Table?.StreamSpecification?.StreamEnabled) return arn;
        throw new Error(`table ${this.options.tableName} has no stream enabled`);
      } catch (err) {
        if (this.signal.aborted) return undefined;
        failures++;
        const wait = this.backoff(failures);
        this.log.warn("DescribeTable failed, retrying", { retryInMs: wait, error: brief(err) });
        await this.sleep(wait);
      }
    }
    return undefined;
  }

  private async listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const out = await this.options.streams.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: start }),
        { abortSignal: this.signal },
      );
      shards.push(...(out.StreamDescription?.Shards ?? []));
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards;
  }

  private addShards(listed: Shard[], initial: boolean): void {
    const added: ShardState[] = [];
    for (const shard of listed) {
      if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
      let markDone = () => {};
      const done = new Promise<void>((resolve) => {
        markDone = resolve;
      });
      const state: ShardState = {
        id: shard.ShardId,
        parentId: shard.ParentShardId,
        start: initial ? (this.options.startingPosition ?? "TRIM_HORIZON") : "TRIM_HORIZON",
        iterator: undefined,
        closed: false,
        pending: [],
        lastRead: undefined,
        caughtUpTick: 0,
        caughtUpTo: undefined,
        finished: false,
        done,
        markDone,
      };
      this.shards.set(state.id, state);
      // Starting at LATEST, a shard closed before the start has nothing left to read.
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      if (state.start === "LATEST" && closed) this.finish(state);
      else added.push(state);
    }
    // Started only once the whole list is known, so that every child finds its parent.
    for (const state of added) this.track(this.runShard(state));
  }

  private finish(shard: ShardState): void {
    shard.finished = true;
    shard.markDone();
    // Its children are usually listed already; look again in case they are not.
    this.requestDiscovery();
    this.notify();
  }

  private track(loop: Promise<void>): void {
    const tracked: Promise<void> = loop
      .catch((err) => this.log.error("a shard's loop failed", err as Error))
      .finally(() => this.loops.delete(tracked));
    this.loops.add(tracked);
  }

  // One shard: one batch at a time, in order

  private async runShard(shard: ShardState): Promise<void> {
    // A parent that has expired from the stream is not listed: nothing to wait for then.
    const parent = shard.parentId ? this.shards.get(shard.parentId) : undefined;
    if (parent && !parent.finished) await Promise.race([parent.done, this.stopped]);
    let readFailures = 0;
    let handlerFailures = 0;
    while (!this.signal.aborted) {
      if (this.readyToInvoke(shard)) {
        if (await this.invoke(shard)) handlerFailures = 0;
        else await this.sleep(this.backoff(++handlerFailures));
        continue;
      }
      if (shard.closed) {
        this.finish(shard);
        return;
      }
      let read: number;
      try {
        read = await this.read(shard);
        readFailures = 0;
      } catch (err) {
        if (this.signal.aborted) return;
        readFailures++;
        const wait = this.backoff(readFailures);
        this.log.warn("reading a shard failed, retrying", {
          shard: shard.id,
          retryInMs: wait,
          error: brief(err),
        });
        await this.sleep(wait);
        continue;
      }
      // A full page may have more behind it, and a batch may be due; otherwise the shard is
      // read again after the poll interval, as Lambda does, not in a loop while the window fills.
      if (read >= GET_RECORDS_LIMIT || shard.closed || this.readyToInvoke(shard)) continue;
      await this.sleep(this.idleWait(shard));
    }
  }

  private readyToInvoke(shard: ShardState): boolean {
    const oldest = shard.pending[0];
    if (!oldest) return false;
    return (
      shard.pending.length >= this.batchSize ||
      shard.closed ||
      Date.now() - oldest.receivedAt >= this.windowMs
    );
  }

  private idleWait(shard: ShardState): number {
    const oldest = shard.pending[0];
    if (!oldest) return this.pollIntervalMs;
    const windowLeft = oldest.receivedAt + this.windowMs - Date.now();
    return Math.max(1, Math.min(this.pollIntervalMs, windowLeft));
  }

  /** Reads the shard's next records into `pending`; returns how many were read. */
  private async read(shard: ShardState): Promise<number> {
    shard.iterator ??= await this.shardIterator(shard);
    const tick = ++this.clock;
    let out: GetRecordsCommandOutput;
    try {
      out = await this.getRecords(shard.iterator);
    } catch (err) {
      // An iterator lasts 15 minutes; a new one continues after the last record read.
      if (err instanceof ExpiredIteratorException) shard.iterator = undefined;
      if (err instanceof TrimmedDataAccessException) {
        // Records older than 24 h were trimmed unread (or, as DynamoDB Local says of a stream
        // just made, there was nothing yet): read on from the oldest record there is.
        if (shard.lastRead)
          this.log.warn("records expired unread (older than 24 h)", { shard: shard.id });
        shard.iterator = undefined;
        shard.lastRead = undefined;
        shard.start = "TRIM_HORIZON";
        return 0;
      }
      throw err;
    }
    const records = out.Records ?? [];
    // Converted and filtered before anything changes: a failure here retries the same read.
    const receivedAt = Date.now();
    const kept: Pending[] = [];
    let lastRead = shard.lastRead;
    for (const raw of records) {
      const sequenceNumber = raw.dynamodb?.SequenceNumber;
      if (!sequenceNumber) continue;
      lastRead = sequenceNumber;
      const record = toLambdaRecord(raw, this.streamArn);
      if (this.options.filter && !this.options.filter(record)) continue;
      kept.push({ record, sequenceNumber, receivedAt });
    }
    shard.pending.push(...kept);
    shard.lastRead = lastRead;
    shard.iterator = out.NextShardIterator;
    // No next iterator: the shard is closed and every record of it has been read.
    if (!out.NextShardIterator) shard.closed = true;
    if (records.length === 0 || shard.closed) {
      shard.caughtUpTick = tick;
      shard.caughtUpTo = shard.lastRead;
    }
    this.notify();
    return records.length;
  }

  private getRecords(iterator: string): Promise<GetRecordsCommandOutput> {
    return this.options.streams.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_LIMIT }),
      { abortSignal: this.signal },
    );
  }

  private async shardIterator(shard: ShardState): Promise<string> {
    const position: Pick<GetShardIteratorInput, "ShardIteratorType" | "SequenceNumber"> =
      shard.lastRead
        ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: shard.lastRead }
        : { ShardIteratorType: shard.start };
    const out = await this.options.streams.send(
      new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: shard.id, ...position }),
      { abortSignal: this.signal },
    );
    if (!out.ShardIterator) throw new Error(`GetShardIterator gave no iterator for ${shard.id}`);
    return out.ShardIterator;
  }

  /** Invokes the handler with the oldest pending records; true if all of them succeeded. */
  private async invoke(shard: ShardState): Promise<boolean> {
    const batch = shard.pending.slice(0, this.batchSize);
    const event: DynamoDBStreamEvent = { Records: batch.map((p) => p.record) };
    let result: unknown;
    try {
      result = await this.options.handler(event, localContext(this.options.functionName), {
        signal: new AbortController().signal,
      });
    } catch (err) {
      // A thrown error fails the whole batch: it is retried from its first record.
      this.log.error("the function failed", err as Error);
      return false;
    }
    const failedAt = this.options.reportBatchItemFailures ? firstFailure(result, batch) : undefined;
    shard.pending.splice(0, failedAt ?? batch.length);
    this.notify();
    if (failedAt === undefined) return true;
    const from = batch[failedAt]?.sequenceNumber;
    this.log.error("the function reported a failure; retrying", { from });
    return false;
  }

  // Waiting

  private backoff(failures: number): number {
    const delay = this.retryDelayMs * 2 ** Math.min(failures - 1, 20);
    return Math.min(delay, Math.max(MAX_RETRY_DELAY_MS, this.retryDelayMs));
  }

  /** Waits `ms`, or less if stopped or woken. Leaves no timer behind either way. */
  private sleep(ms: number, onWake?: (wake: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      if (this.signal.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        this.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener("abort", done, { once: true });
      onWake?.(done);
    });
  }

  private notify(): void {
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }

  private async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.signal.aborted) throw new Error("the stream poller was stopped before it drained");
      await new Promise<void>((resolve) => this.listeners.add(resolve));
    }
  }
}

/**
 * A shard is drained for a drain() call at `since` once a read that started after the call
 * found nothing new (on DynamoDB Local a record is readable as soon as its write returns), and
 * every record read up to that point has been handled.
 */
function drained(shard: ShardState, since: number): boolean {
  if (shard.finished) return true;
  if (shard.caughtUpTick <= since) return false;
  const oldest = shard.pending[0];
  if (!oldest) return true;
  return (
    shard.caughtUpTo === undefined ||
    compareSequenceNumbers(oldest.sequenceNumber, shard.caughtUpTo) > 0
  );
}

/**
 * Where Lambda resumes after a `{ batchItemFailures }` answer: the index of the failed record
 * with the lowest sequence number, 0 (the whole batch) if any identifier is empty or not in
 * the batch, undefined if nothing failed.
 */
function firstFailure(result: unknown, batch: Pending[]): number | undefined {
  const failures = (result as Partial<DynamoDBBatchResponse> | null | undefined)?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  let first = batch.length;
  for (const failure of failures) {
    const id: unknown = failure?.itemIdentifier;
    const index =
      typeof id === "string" && id !== "" ? batch.findIndex((p) => p.sequenceNumber === id) : -1;
    if (index < 0) return 0;
    first = Math.min(first, index);
  }
  return first;
}

/** Sequence numbers are decimal strings of 21 to 40 digits: compared as numbers. */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A GetRecords record as Lambda hands it over: the stream's ARN added, the creation time in
 * epoch seconds and binary values in base64, as in Lambda's JSON event.
 */
export function toLambdaRecord(record: StreamsRecord, streamArn: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  const dynamodb: StreamRecord = {};
  if (change.ApproximateCreationDateTime) {
    dynamodb.ApproximateCreationDateTime = Math.floor(
      change.ApproximateCreationDateTime.getTime() / 1000,
    );
  }
  if (change.Keys) dynamodb.Keys = toLambdaImage(change.Keys);
  if (change.NewImage) dynamodb.NewImage = toLambdaImage(change.NewImage);
  if (change.OldImage) dynamodb.OldImage = toLambdaImage(change.OldImage);
  dynamodb.SequenceNumber = change.SequenceNumber;
  dynamodb.SizeBytes = change.SizeBytes;
  dynamodb.StreamViewType = change.StreamViewType;
  const lambdaRecord: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? "1.1",
    eventSource: record.eventSource ?? "aws:dynamodb",
    awsRegion: record.awsRegion,
    dynamodb,
    eventSourceARN: streamArn,
  };
  // Deletions by TTL come from the service itself.
  if (record.userIdentity) {
    lambdaRecord.userIdentity = {
      type: record.userIdentity.Type,
      principalId: record.userIdentity.PrincipalId,
    };
  }
  return lambdaRecord;
}

function toLambdaImage(
  image: Record<string, StreamAttributeValue>,
): Record<string, LambdaAttributeValue> {
  return Object.fromEntries(
    Object.entries(image).map(([name, value]) => [name, toLambdaValue(value)]),
  );
}

function toLambdaValue(value: StreamAttributeValue): LambdaAttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  // The SDK reads an empty map ({"M": {}}) back as an object with no member set.
  if (Object.keys(value).length === 0) return { M: {} };
  throw new Error(`unknown attribute value type: ${Object.keys(value).join(", ")}`);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function brief(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
