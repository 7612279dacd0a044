import { newId } from "../auth/secrets";
import type { Services } from "../services";
import type { BatchRecord } from "../store/batches";
import { failBatch } from "./plan";

/** The completion window: 24 hours, the only one OpenAI offers. */
export const WINDOW_SECONDS = 24 * 3_600;

/** A new batch's record (`validating`, nothing run yet), made at `created` (unix seconds). */
export function newBatchRecord(
  fields: Pick<
    BatchRecord,
    "userId" | "keyId" | "endpoint" | "inputFileId" | "metadata" | "outputTtlSeconds"
  >,
  created: number,
): BatchRecord {
  return {
    ...fields,
    id: newId("batch_", 24),
    completionWindow: "24h",
    status: "validating",
    model: null,
    createdAt: created,
    expiresAt: created + WINDOW_SECONDS,
    inProgressAt: null,
    finalizingAt: null,
    completedAt: null,
    failedAt: null,
    expiredAt: null,
    cancellingAt: null,
    cancelledAt: null,
    outputFileId: null,
    errorFileId: null,
    errors: null,
    total: 0,
    completed: 0,
    failed: 0,
    inputTokens: 0,
    outputTokens: 0,
    chunkCount: null,
    chunksDone: 0,
    retainUntil: null,
  };
}

/**
 * Records a new batch (`validating`) and queues its planning step. If the queue refuses the
 * message the batch fails at once rather than waiting forever.
 */
export async function startBatch(
  services: Services,
  fields: Parameters<typeof newBatchRecord>[0],
): Promise<BatchRecord> {
  const batch = newBatchRecord(fields, services.clock.seconds());
  await services.batches.create(batch);
  try {
    await services.queue.send({ type: "batch.plan", batchId: batch.id });
  } catch (err) {
    await failBatch(services, batch.id, [
      {
        code: "server_error",
        message: "The batch could not be queued; please create it again.",
        param: null,
        line: null,
      },
    ]);
    throw err;
  }
  return batch;
}
