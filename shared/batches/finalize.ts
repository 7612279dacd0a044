import { createHash } from "node:crypto";
import { saveFile } from "../files/save-file";
import type { Services } from "../services";
import {
  type BatchRecord,
  type BatchStatus,
  FINAL_STATUSES,
  type LineResult,
} from "../store/batches";
import type { FileRecord } from "../store/file-records";
import { ConditionFailed } from "../store/table";
import { forEachConcurrently } from "./chunk";
import { chunkLines, lineOutput, workRetainUntil } from "./layout";
import { MOVES } from "./lifecycle";
import type { BatchLine } from "./validate";

const EXPIRED_MESSAGE = "This request could not be executed before the completion window expired.";

/**
 * The last step of a batch: once every chunk is done (or, for a batch past its window, once
 * the grace period is over) the recorded lines become the output file (successes) and the
 * error file (failures, and lines that expired unrun), and the batch becomes completed,
 * cancelled or expired. Files and counts are built from the line records alone, which hold
 * one line per custom_id and are final by then (see below for a forced finalize), so a
 * retried finalize writes the same files again and never a line twice.
 */
export async function finalizeBatch(
  services: Services,
  batchId: string,
  options: { force?: boolean } = {},
): Promise<void> {
  let batch = await services.batches.get(batchId);
  if (!batch || FINAL_STATUSES.includes(batch.status)) return;
  const chunksPending = batch.chunkCount !== null && batch.chunksDone < batch.chunkCount;
  // The chunk that finishes last queues finalize again; the janitor forces expired batches.
  if (chunksPending && !options.force) return;
  if (batch.status === "validating" && batch.expiredAt === null) return;
  const now = services.clock.seconds();

  let results = await sortedResults(services, batchId);
  // Chunks stop starting lines once the window is over, and may get here before the janitor
  // has marked the batch: lines left unrun then make it expired, not completed. (Lines a
  // previous try of this finalize wrote off as expired do not count as run.)
  const expired =
    batch.expiredAt !== null ||
    (batch.status !== "cancelling" &&
      now >= batch.expiresAt &&
      results.filter((r) => !r.expired).length < batch.total);
  if (batch.status === "in_progress" && !expired) {
    batch =
      (await services.batches.transition(batchId, MOVES.finalizing, { finalizingAt: now })) ??
      batch;
  }
  if (expired) {
    // A forced finalize does not wait for the chunks still running, and their lines may be
    // recorded (and billed) after the read above. So every line without a record gets a
    // batch_expired one, with the same conditional write a run uses: a run that records
    // first keeps its line (and bills it); one that comes later finds the line taken and
    // gives its holds back. Then every line has its one record, no more can be written,
    // and the files and counts below are built from a read that can no longer change: a
    // second finalize (the janitor's and the last chunk's) builds the very same ones.
    const unrun = await unrunLines(services, batch, results);
    const retainUntil = workRetainUntil(services, batch);
    await forEachConcurrently(unrun, EXPIRE_CONCURRENCY, async (line) => {
      await services.batches.putResult(expiredResult(batchId, line), retainUntil);
    });
    if (unrun.length) results = await sortedResults(services, batchId);
  }
  const outputLines: string[] = [];
  const errorLines: string[] = [];
  for (const result of results)
    (result.ok ? outputLines : errorLines).push(await lineOutput(services, result));

  const output = outputLines.length
    ? await writeOutput(services, batch, "output", outputLines)
    : null;
  const errors = errorLines.length
    ? await writeOutput(services, batch, "errors", errorLines)
    : null;
  const status: BatchStatus = expired
    ? "expired"
    : batch.status === "cancelling"
      ? "cancelled"
      : "completed";
  const retainUntil = now + services.settings.batches.retentionSeconds;
  await services.batches.transition(batchId, MOVES.finish, {
    status,
    ...(status === "completed" && { completedAt: now }),
    ...(status === "cancelled" && { cancelledAt: now }),
    ...(status === "expired" && { expiredAt: batch.expiredAt ?? batch.expiresAt }),
    outputFileId: output?.id ?? null,
    errorFileId: errors?.id ?? null,
    completed: outputLines.length,
    failed: errorLines.length,
    inputTokens: results.reduce((sum, r) => sum + r.inputTokens, 0),
    outputTokens: results.reduce((sum, r) => sum + r.outputTokens, 0),
    retainUntil,
  });
  await services.schedule.done({ due: batch.expiresAt, kind: "batch.expire", id: batchId });
}

/** How many batch_expired records finalize writes at a time. */
const EXPIRE_CONCURRENCY = 16;

async function sortedResults(services: Services, batchId: string): Promise<LineResult[]> {
  return (await services.batches.results(batchId)).sort((a, b) => a.line - b.line);
}

/** Lines of an expired batch that have no record (never ran, or ran but were not recorded). */
async function unrunLines(services: Services, batch: BatchRecord, results: LineResult[]) {
  const ran = new Set(results.map((r) => r.line));
  const lines: (BatchLine & { chunk: number })[] = [];
  for (let index = 0; index < (batch.chunkCount ?? 0); index++) {
    for (const line of await chunkLines(services, batch.id, index))
      if (!ran.has(line.line)) lines.push({ ...line, chunk: index });
  }
  return lines;
}

/** The record of a line that expired unrun: its batch_expired error line, at no cost. */
function expiredResult(batchId: string, line: BatchLine & { chunk: number }): LineResult {
  return {
    batchId,
    chunk: line.chunk,
    line: line.line,
    customId: line.customId,
    ok: false,
    output: expiredLine(line),
    inputTokens: 0,
    outputTokens: 0,
    expired: true,
  };
}

function expiredLine(line: { customId: string; line: number }): string {
  return JSON.stringify({
    id: `batch_req_${hash(`${line.customId}:${line.line}`)}`,
    custom_id: line.customId,
    response: null,
    error: { code: "batch_expired", message: EXPIRED_MESSAGE },
  });
}

/** Writes an output or error file under an id derived from the batch: a retry rewrites the same one. */
async function writeOutput(
  services: Services,
  batch: BatchRecord,
  kind: "output" | "errors",
  lines: string[],
): Promise<FileRecord> {
  const id = `file-${hash(`${batch.id}:${kind}`)}`;
  try {
    return await saveFile(services, {
      id,
      userId: batch.userId,
      filename: `${batch.id}_${kind}.jsonl`,
      purpose: "batch_output",
      data: `${lines.join("\n")}\n`,
      ttlSeconds: batch.outputTtlSeconds,
    });
  } catch (err) {
    if (!(err instanceof ConditionFailed)) throw err;
    const existing = await services.files.get(id);
    if (!existing) throw err;
    return existing;
  }
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}
