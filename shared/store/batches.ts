import { randomUUID } from "node:crypto";
import {
  batchKey,
  batchPartition,
  byCreation,
  CHUNK_PREFIX,
  chunkKey,
  chunkResultsPrefix,
  INDEX,
  RESULT_PREFIX,
  resultKey,
  TTL,
} from "./keys";
import { Schedule } from "./schedule";
import { ConditionFailed, type Item, setFields, type Table } from "./table";

export type BatchStatus =
  | "validating"
  | "failed"
  | "in_progress"
  | "finalizing"
  | "completed"
  | "expired"
  | "cancelling"
  | "cancelled";

export const FINAL_STATUSES: readonly BatchStatus[] = [
  "failed",
  "completed",
  "expired",
  "cancelled",
];

/**
 * A change of a batch's status (batches/lifecycle.ts holds them all): the statuses it may be
 * taken from, and the status it leads to; where it may lead to several, the caller sets one
 * of them; a move with none leaves the status as it is.
 */
export interface BatchMove {
  name: string;
  from: readonly BatchStatus[];
  to?: BatchStatus | readonly BatchStatus[];
}

export interface BatchError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** A batch and its progress. Times are unix seconds. */
export interface BatchRecord {
  id: string;
  userId: string;
  /** The key that created it: lines are billed to it, as calls with it would be. */
  keyId: string;
  endpoint: string;
  inputFileId: string;
  completionWindow: string;
  status: BatchStatus;
  model: string | null;
  metadata: Record<string, string> | null;
  /** Output and error files expire this long after they are written. */
  outputTtlSeconds: number;
  createdAt: number;
  expiresAt: number;
  inProgressAt: number | null;
  finalizingAt: number | null;
  completedAt: number | null;
  failedAt: number | null;
  expiredAt: number | null;
  cancellingAt: number | null;
  cancelledAt: number | null;
  outputFileId: string | null;
  errorFileId: string | null;
  errors: BatchError[] | null;
  total: number;
  completed: number;
  failed: number;
  inputTokens: number;
  outputTokens: number;
  /** Set when the input is cut into chunks. */
  chunkCount: number | null;
  chunksDone: number;
  /** Once final, the batch is kept until then. */
  retainUntil: number | null;
}

/** A slice of the input, run by one worker invocation (and resumed by the next, if need be). */
export interface ChunkRecord {
  batchId: string;
  index: number;
  /** Line numbers (1-based) of the input file in this chunk. */
  firstLine: number;
  lines: number;
  status: "pending" | "done";
  leaseOwner?: string;
  leaseUntil?: number;
}

/** One finished line: its output line and what it cost. Written once, whatever happens. */
export interface LineResult {
  batchId: string;
  chunk: number;
  line: number;
  customId: string;
  /** Succeeded (output file) or not (error file). */
  ok: boolean;
  /** The output or error file line, as JSON text ("" when it is kept in S3 instead). */
  output: string;
  /** Where an output line too big for a table item is kept. */
  outputBlobKey?: string;
  inputTokens: number;
  outputTokens: number;
  /**
   * Set on the record finalize writes for a line of an expired batch that had none (its
   * output is the batch_expired error line): it takes the line's place, so a run still going
   * can no longer record (and bill) the line.
   */
  expired?: boolean;
}

/** Tests read a batch's item by it. */
export { batchKey };

export class Batches {
  constructor(private readonly table: Table) {}

  /** Stores a new batch and puts its deadline on the janitor's agenda. */
  async create(batch: BatchRecord): Promise<void> {
    await this.table.transact([
      {
        put: {
          ...batchKey(batch.id),
          gsi1pk: INDEX.userBatches(batch.userId),
          gsi1sk: byCreation(batch.createdAt, batch.id),
          ...batch,
        },
        condition: "attribute_not_exists(pk)",
      },
      Schedule.entry({ due: batch.expiresAt, kind: "batch.expire", id: batch.id }),
    ]);
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    const item = await this.table.get<BatchRecord & Item>(batchKey(id), true);
    return item ? toBatch(item) : undefined;
  }

  /** A batch the user can still see: theirs and within its retention. */
  async find(id: string, userId: string, now: number): Promise<BatchRecord | undefined> {
    const batch = await this.get(id);
    if (!batch || batch.userId !== userId) return undefined;
    return batch.retainUntil !== null && batch.retainUntil <= now ? undefined : batch;
  }

  /** The user's batches, newest first, after the batch `after`. */
  async list(userId: string, options: { limit: number; after?: string; now: number }) {
    let startKey: Item | undefined;
    if (options.after) {
      const after = await this.get(options.after);
      if (!after || after.userId !== userId) return { batches: [], hasMore: false };
      startKey = {
        ...batchKey(after.id),
        gsi1pk: INDEX.userBatches(userId),
        gsi1sk: byCreation(after.createdAt, after.id),
      };
    }
    const page = await this.table.keptItems<BatchRecord & Item>(
      {
        index: "gsi1",
        keyCondition: "gsi1pk = :pk",
        values: { ":pk": INDEX.userBatches(userId) },
        ascending: false,
        startKey,
      },
      options.limit,
      (batch) => batch.retainUntil === null || batch.retainUntil > options.now,
    );
    return { batches: page.items.map(toBatch), hasMore: page.hasMore };
  }

  /**
   * Makes a move (the only way a batch's status changes), setting `fields` with it, if the
   * batch is in one of the statuses the move is taken from: two workers can never both make
   * the same move. Returns the batch as it now is, or undefined when it was not. A batch
   * given a `retainUntil` is dropped by TTL after it.
   */
  async transition(
    id: string,
    move: BatchMove,
    fields: Partial<BatchRecord>,
  ): Promise<BatchRecord | undefined> {
    const status = fields.status ?? (typeof move.to === "string" ? move.to : undefined);
    if (status !== undefined && ![move.to ?? []].flat().includes(status))
      throw new Error(`A batch's move ${move.name} cannot make it ${status}.`);
    const set = {
      ...fields,
      ...(status !== undefined && { status }),
      ...(typeof fields.retainUntil === "number" && {
        ttl: TTL.afterRetention(fields.retainUntil),
      }),
    };
    const { assignments, names, values } = setFields(set);
    names["#status"] = "status";
    const allowed = move.from.map((from, i) => {
      values[`:from${i}`] = from;
      return `:from${i}`;
    });
    // The move's own id: a retry of a move whose answer was lost finds it made, not refused.
    values[":movedBy"] = randomUUID();
    try {
      const item = await this.table.update<BatchRecord & Item>(batchKey(id), {
        update: `SET ${assignments.join(", ")}, movedBy = :movedBy`,
        condition: `#status IN (${allowed.join(", ")})`,
        names,
        values,
        returnValues: "ALL_NEW",
        explainFailure: true,
      });
      return item ? toBatch(item) : undefined;
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      return err.item?.movedBy === values[":movedBy"]
        ? toBatch(err.item as BatchRecord & Item)
        : undefined;
    }
  }

  /**
   * Creates the chunk records (again, harmlessly, when planning runs twice), kept until
   * `retainUntil` (the latest the batch may be kept: see batches/layout.ts).
   */
  async createChunks(chunks: ChunkRecord[], retainUntil: number): Promise<void> {
    const ttl = TTL.afterRetention(retainUntil);
    for (const chunk of chunks) {
      await this.table
        .put(
          { ...chunkKey(chunk.batchId, chunk.index), ttl, ...chunk },
          { condition: "attribute_not_exists(pk)" },
        )
        .catch((err) => {
          if (!(err instanceof ConditionFailed)) throw err;
        });
    }
  }

  async getChunk(batchId: string, index: number): Promise<ChunkRecord | undefined> {
    return this.table.get<ChunkRecord>(chunkKey(batchId, index), true);
  }

  /** The indexes of the batch's chunks not yet done, in one query. */
  async pendingChunks(batchId: string): Promise<number[]> {
    const chunks = await this.table.queryAll<ChunkRecord & Item>({
      keyCondition: "pk = :pk AND begins_with(sk, :prefix)",
      values: { ":pk": batchPartition(batchId), ":prefix": CHUNK_PREFIX },
      consistent: true,
    });
    return chunks.filter((chunk) => chunk.status === "pending").map((chunk) => chunk.index);
  }

  /**
   * Takes a chunk for `owner` until `until`, unless another worker holds it (a duplicate
   * delivery while the first is still running) or it is done. False when someone else has it
   * or it is done: finishing a chunk removes its lease, and a delivery that read the chunk
   * as pending just before must not then run its unrun lines (of a batch cancelled, say,
   * and perhaps finalized already).
   */
  async leaseChunk(
    batchId: string,
    index: number,
    owner: string,
    until: number,
    now: number,
  ): Promise<boolean> {
    try {
      await this.table.update(chunkKey(batchId, index), {
        update: "SET leaseOwner = :owner, leaseUntil = :until",
        condition:
          "#status = :pending AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)",
        names: { "#status": "status" },
        values: { ":owner": owner, ":until": until, ":now": now, ":pending": "pending" },
      });
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
  }

  async releaseChunk(batchId: string, index: number, owner: string): Promise<void> {
    await this.table
      .update(chunkKey(batchId, index), {
        update: "REMOVE leaseOwner, leaseUntil",
        condition: "leaseOwner = :owner",
        values: { ":owner": owner },
      })
      .catch((err) => {
        if (!(err instanceof ConditionFailed)) throw err;
      });
  }

  /**
   * Marks a chunk done and adds its tallies to the batch, in one transaction: a chunk is
   * counted exactly once however often its message is delivered. False if it was done
   * already, or if the batch is final: finalize sets the final counts from the line records,
   * and a chunk still running when the janitor forced an expired batch final must not add
   * its lines to them again (they would exceed the total).
   */
  async finishChunk(
    batchId: string,
    index: number,
    tally: { completed: number; failed: number; inputTokens: number; outputTokens: number },
  ): Promise<boolean> {
    try {
      await this.table.transact([
        {
          key: chunkKey(batchId, index),
          update: "SET #status = :done REMOVE leaseOwner, leaseUntil",
          condition: "#status = :pending",
          names: { "#status": "status" },
          values: { ":done": "done", ":pending": "pending" },
        },
        {
          key: batchKey(batchId),
          update:
            "ADD completed :completed, failed :failed, inputTokens :input, outputTokens :output, chunksDone :one",
          condition: `NOT (#status IN (${FINAL_STATUSES.map((_, i) => `:final${i}`).join(", ")}))`,
          names: { "#status": "status" },
          values: {
            ...Object.fromEntries(FINAL_STATUSES.map((status, i) => [`:final${i}`, status])),
            ":completed": tally.completed,
            ":failed": tally.failed,
            ":input": tally.inputTokens,
            ":output": tally.outputTokens,
            ":one": 1,
          },
        },
      ]);
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
  }

  /**
   * Records a finished line; false if another run (or finalize) recorded it already (it must
   * not count twice). A record that is this very result was this write's own, landed by an
   * attempt whose answer was lost: recorded. Each run's result is its own (its output names
   * the run's request id), so the stored one tells. The record is kept until `retainUntil`,
   * as the chunks are.
   */
  async putResult(result: LineResult, retainUntil: number): Promise<boolean> {
    try {
      await this.table.put(
        {
          ...resultKey(result.batchId, result.chunk, result.line),
          ttl: TTL.afterRetention(retainUntil),
          ...result,
        },
        { condition: "attribute_not_exists(pk)", explainFailure: true },
      );
      return true;
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      const stored = err.item;
      return stored?.output === result.output && stored.outputBlobKey === result.outputBlobKey;
    }
  }

  /** The finished lines of one chunk, or of the whole batch. */
  async results(batchId: string, chunk?: number): Promise<LineResult[]> {
    const items = await this.table.queryAll<LineResult & Item>({
      keyCondition: "pk = :pk AND begins_with(sk, :prefix)",
      values: {
        ":pk": batchPartition(batchId),
        ":prefix": chunk === undefined ? RESULT_PREFIX : chunkResultsPrefix(chunk),
      },
      consistent: true,
    });
    // The table's own attributes off; the rest is the result as it was put.
    return items.map(({ pk: _pk, sk: _sk, ttl: _ttl, ...result }) => result);
  }
}

function toBatch(item: BatchRecord & Item): BatchRecord {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ttl: _ttl, movedBy: _m, ...batch } = item;
  return batch as BatchRecord;
}
