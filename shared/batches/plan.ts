import type { Services } from "../services";
import type { BatchError, ChunkRecord } from "../store/batches";
import { finalizeBatch } from "./finalize";
import { chunkBlobKey, workRetainUntil } from "./layout";
import { MOVES } from "./lifecycle";
import { type BatchLine, validateBatchInput } from "./validate";

/**
 * The first step of a batch: validate its input file, then cut it into chunks (S3 objects,
 * one record each) and queue a message per chunk. Safe to run twice: a batch that is already
 * in progress only gets the messages of its unfinished chunks again.
 */
export async function planBatch(services: Services, batchId: string): Promise<void> {
  const batch = await services.batches.get(batchId);
  if (!batch) return;
  if (batch.status === "cancelling") return finalizeBatch(services, batchId);
  if (batch.status !== "validating" && batch.status !== "in_progress") return;
  const now = services.clock.seconds();
  const { batches: settings } = services.settings;

  if (batch.status === "validating") {
    const file = await services.files.get(batch.inputFileId);
    const data = file && (await services.blobs.get(file.blobKey));
    if (!data) {
      return failBatch(services, batchId, [
        {
          code: "invalid_file",
          message: "The input file no longer exists (uploaded files expire an hour after upload).",
          param: "input_file_id",
          line: null,
        },
      ]);
    }
    const validation = validateBatchInput(
      new TextDecoder().decode(data),
      batch.endpoint,
      settings.maxLines,
    );
    if (!validation.ok) return failBatch(services, batchId, validation.errors);

    const chunks = cut(validation.lines, settings.chunkLines);
    for (const [index, lines] of chunks.entries()) {
      const text = lines
        .map((l) => JSON.stringify({ line: l.line, custom_id: l.customId, body: l.body }))
        .join("\n");
      await services.blobs.put(chunkBlobKey(batchId, index), text, "application/jsonl");
    }
    const records: ChunkRecord[] = chunks.map((lines, index) => ({
      batchId,
      index,
      firstLine: lines[0]?.line ?? 0,
      lines: lines.length,
      status: "pending",
    }));
    await services.batches.createChunks(records, workRetainUntil(services, batch));
    const started = await services.batches.transition(batchId, MOVES.start, {
      inProgressAt: now,
      total: validation.lines.length,
      model: validation.model,
      chunkCount: chunks.length,
    });
    // Cancelled while it was being planned: finalize takes it from here.
    if (!started) return finalizeBatch(services, batchId);
  }

  // Queue every chunk that is not done (all of them, the first time).
  const pending = await services.batches.pendingChunks(batchId);
  await services.queue.sendAll(pending.map((chunk) => ({ type: "batch.chunk", batchId, chunk })));
}

/** Fails a batch that never got going, with the errors to show for it. */
export async function failBatch(
  services: Services,
  batchId: string,
  errors: BatchError[],
): Promise<void> {
  const now = services.clock.seconds();
  const retainUntil = now + services.settings.batches.retentionSeconds;
  await services.batches.transition(batchId, MOVES.fail, {
    failedAt: now,
    errors,
    retainUntil,
  });
}

function cut(lines: BatchLine[], size: number): BatchLine[][] {
  const chunks: BatchLine[][] = [];
  for (let i = 0; i < lines.length; i += size) chunks.push(lines.slice(i, i + size));
  return chunks;
}
