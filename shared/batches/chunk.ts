import type { KeyPrincipal } from "../auth/authenticate";
import { randomString } from "../auth/secrets";
import { countEvent } from "../observability";
import type { StepContext } from "../queue/worker";
import type { Services } from "../services";
import { type BatchRecord, FINAL_STATUSES, type LineResult } from "../store/batches";
import { chunkLines, resultBlobKey, workRetainUntil } from "./layout";
import { type RanLine, runLine } from "./line";

/** How long one chunk may hold its lease: as long as a worker can run. */
export const LEASE_SECONDS = 15 * 60;

/**
 * A chunk another worker holds the lease of: not a fault (a redelivery, or a continuation
 * queued while the previous run finishes), so its delivery only waits to come back.
 */
export class ChunkLeased extends Error {
  constructor(batchId: string, index: number) {
    super(`chunk ${index} of ${batchId} is being run by another worker`);
    this.name = "ChunkLeased";
  }
}

/**
 * Runs the unfinished lines of one chunk, a few at a time. Each line's result is recorded
 * once (a conditional write) and only then settled, so a redelivered message, a worker
 * killed mid-chunk or a duplicate never runs or bills a line twice. Stops starting lines
 * when the batch is cancelled or expired, or when the invocation's time runs short (then it
 * queues itself to carry on). Upstream 429s back off and retry.
 */
export async function runChunk(
  services: Services,
  batchId: string,
  index: number,
  context: StepContext,
): Promise<void> {
  const batch = await services.batches.get(batchId);
  const chunk = await services.batches.getChunk(batchId, index);
  if (!batch || !chunk || FINAL_STATUSES.includes(batch.status)) return;
  if (chunk.status === "done") {
    // A redelivery after the chunk finished: the worker may have died (or the send failed)
    // before it queued finalize, so queue it again. Finalize runs once however often it is sent.
    await finalizeIfLast(services, batch);
    return;
  }
  const now = services.clock.seconds();
  if (
    !(await services.batches.leaseChunk(batchId, index, context.owner, now + LEASE_SECONDS, now))
  ) {
    // Another worker is running it (or has just finished it): this delivery fails and comes
    // back after the visibility timeout.
    throw new ChunkLeased(batchId, index);
  }
  let continueAfterSeconds: number | undefined;
  try {
    continueAfterSeconds = await runLeasedChunk(services, batch, index, context);
  } finally {
    await services.batches.releaseChunk(batchId, index, context.owner);
  }
  // Queued only once the lease is free, so the next delivery can take the chunk at once.
  if (continueAfterSeconds !== undefined) {
    await services.queue.send({ type: "batch.chunk", batchId, chunk: index }, continueAfterSeconds);
  }
}

/**
 * The work of runChunk once it holds the lease. Returns the delay after which a new
 * delivery should carry on, or undefined when the chunk is finished.
 */
async function runLeasedChunk(
  services: Services,
  batch: BatchRecord,
  index: number,
  context: StepContext,
): Promise<number | undefined> {
  const batchId = batch.id;
  const done = new Set(
    (await services.batches.results(batchId, index)).map((result) => result.line),
  );
  const todo = (await chunkLines(services, batchId, index)).filter((line) => !done.has(line.line));
  const principal = await loadPrincipal(services, batch);
  const stopping = stopCheck(services, batch);
  let rateLimited = false;
  // Lines still running at the hard deadline are cancelled; they run again next delivery.
  const running = new Set<AbortController>();
  const cutOff = setTimeout(
    () => {
      for (const line of running) line.abort();
    },
    Math.max(0, context.hardDeadline - services.clock.now()),
  );
  try {
    await forEachConcurrently(todo, services.settings.batches.lineConcurrency, async (line) => {
      for (let backoff = 1_000; ; backoff = Math.min(backoff * 2, 30_000)) {
        if ((await stopping()) || services.clock.now() >= context.deadline) return;
        const cancel = new AbortController();
        running.add(cancel);
        const ran = await runLine(services, principal, batch, index, line, cancel.signal).finally(
          () => running.delete(cancel),
        );
        if (ran === "deferred") return;
        if (ran !== "rate_limited") {
          await record(services, batch, ran);
          return;
        }
        if (services.clock.now() + backoff >= context.deadline) {
          rateLimited = true;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, backoff));
      }
    });
  } finally {
    clearTimeout(cutOff);
  }

  const results = await services.batches.results(batchId, index);
  if (results.length < todo.length + done.size && !(await stopping())) {
    // Out of time (or rate limited): the next delivery carries on where this one stopped.
    return rateLimited ? 30 : 0;
  }
  // Every line ran, or the batch stopped: the chunk is finished with what it has.
  const finished = await services.batches.finishChunk(batchId, index, {
    completed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    inputTokens: results.reduce((sum, r) => sum + r.inputTokens, 0),
    outputTokens: results.reduce((sum, r) => sum + r.outputTokens, 0),
  });
  const after = finished ? await services.batches.get(batchId) : undefined;
  if (after) await finalizeIfLast(services, after);
  return undefined;
}

/** Queues finalize once every chunk of the batch is done. */
async function finalizeIfLast(services: Services, batch: BatchRecord): Promise<void> {
  if (batch.chunkCount !== null && batch.chunksDone >= batch.chunkCount) {
    await services.queue.send({ type: "batch.finalize", batchId: batch.id });
  }
}

/**
 * Records a line's result, then settles it. A line recorded already (a duplicate run, or a
 * line that finalize wrote off as batch_expired) or whose record failed gives its holds back:
 * a recorded line is billed by the run that recorded it, an unrecorded one by the run that
 * records it later, an expired one never.
 */
async function record(services: Services, batch: BatchRecord, ran: RanLine): Promise<void> {
  let recorded: boolean;
  try {
    recorded = await services.batches.putResult(
      await withStoredOutput(services, ran.result),
      workRetainUntil(services, batch),
    );
  } catch (err) {
    // Should the write have landed after all, the line goes unbilled: never twice.
    await ran.notRecorded();
    throw err;
  }
  await (recorded ? ran.afterRecorded() : ran.notRecorded());
  countEvent("BatchLines", 1, { recorded: String(recorded) });
}

/**
 * Table items stop at 400 KB, and an output line can be far bigger (embeddings of many
 * inputs): such a line is kept in S3 and its record points there.
 */
const MAX_INLINE_OUTPUT_BYTES = 300 * 1024;

async function withStoredOutput(services: Services, result: LineResult): Promise<LineResult> {
  if (Buffer.byteLength(result.output) <= MAX_INLINE_OUTPUT_BYTES) return result;
  const key = resultBlobKey(result.batchId, result.line, randomString(12));
  await services.blobs.put(key, result.output, "application/json");
  return { ...result, output: "", outputBlobKey: key };
}

/** The key that created the batch, and its user, as they are now. */
async function loadPrincipal(services: Services, batch: BatchRecord): Promise<KeyPrincipal> {
  const [key, user] = await Promise.all([
    services.apiKeys.get(batch.keyId, true),
    services.users.get(batch.userId, true),
  ]);
  if (!user) throw new Error(`the user of ${batch.id} no longer exists`);
  // A deleted key fails each line with 401, as a call with it would.
  return { key: key ?? { ...deletedKey, id: batch.keyId, userId: batch.userId }, user };
}

const deletedKey = {
  name: "(deleted)",
  status: "disabled" as const,
  masked: "(deleted key)",
  createdTime: 0,
  accessedTime: 0,
  expiredTime: -1,
  remainQuota: 0,
  unlimitedQuota: true,
  usedQuota: 0,
  models: null,
};

/** Whether the batch was cancelled or has expired; re-read at most once a second. */
function stopCheck(services: Services, batch: BatchRecord): () => Promise<boolean> {
  const { clock } = services;
  let checkedAt = clock.now();
  let current = batch;
  let reading: Promise<void> | undefined;
  return async () => {
    if (clock.now() - checkedAt > 1_000) {
      checkedAt = clock.now();
      reading = services.batches.get(batch.id).then((read) => {
        current = read ?? current;
      });
    }
    // Lines that ask while the batch is being read wait for it too: going on with the old
    // copy, they could start after a cancel or an expiry that the read is about to show.
    await reading;
    return (
      current.status === "cancelling" ||
      FINAL_STATUSES.includes(current.status) ||
      current.expiredAt !== null ||
      clock.now() / 1000 >= current.expiresAt
    );
  };
}

/**
 * Runs `work` over the items, `limit` at a time. After a failure no new item starts; the
 * ones running finish, and then the first error is thrown.
 */
export async function forEachConcurrently<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && !failure) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw failure.error;
}
