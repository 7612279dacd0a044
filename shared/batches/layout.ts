import { BUCKET_PREFIXES } from "../config/resources";
import type { Services } from "../services";
import type { BatchRecord, LineResult } from "../store/batches";
import type { BatchLine } from "./validate";

/** Where a batch's working data lives in the bucket, and how its lines are written there. */

export const chunkBlobKey = (batchId: string, index: number) =>
  `${BUCKET_PREFIXES.batchWork}batches/${batchId}/chunk-${String(index).padStart(6, "0")}.jsonl`;

/** An output line too big for the table; `run` tells apart two runs of the same line. */
export const resultBlobKey = (batchId: string, line: number, run: string) =>
  `${BUCKET_PREFIXES.batchWork}batches/${batchId}/results/${String(line).padStart(6, "0")}-${run}.json`;

/**
 * Until when a batch's working records (its chunks and its lines' results) are kept: its
 * window, then the retention a final batch gets.
 */
export function workRetainUntil(services: Services, batch: BatchRecord): number {
  return batch.expiresAt + services.settings.batches.retentionSeconds;
}

/** A recorded line's output, wherever it is kept. */
export async function lineOutput(services: Services, result: LineResult): Promise<string> {
  if (result.outputBlobKey === undefined) return result.output;
  const data = await services.blobs.get(result.outputBlobKey);
  if (!data) throw new Error(`the output of line ${result.line} of ${result.batchId} is missing`);
  return new TextDecoder().decode(data);
}

/** The lines of a chunk, as planning wrote them. */
export async function chunkLines(
  services: Services,
  batchId: string,
  index: number,
): Promise<BatchLine[]> {
  const data = await services.blobs.get(chunkBlobKey(batchId, index));
  if (!data) throw new Error(`chunk ${index} of ${batchId} has no input`);
  return new TextDecoder()
    .decode(data)
    .split("\n")
    .filter(Boolean)
    .map((row) => {
      const { line, custom_id, body } = JSON.parse(row);
      return { line, customId: custom_id, body };
    });
}
