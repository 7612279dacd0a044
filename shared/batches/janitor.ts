import type { Services } from "../services";
import { FINAL_STATUSES } from "../store/batches";
import { finalizeBatch } from "./finalize";

/** What one janitor sweep did, for its log line. */
export interface SweepReport {
  filesDeleted: number;
  batchesExpired: number;
  /** Holds past their deadline, settled from their log line or released. */
  holdsSettled: number;
  holdsReleased: number;
}

/**
 * The janitor's sweep (an EventBridge schedule on AWS, a timer locally): settles or releases
 * holds past their deadline (calls whose process stopped), expires batches past their 24 h
 * window and deletes expired files. It reads only the work that is due.
 *
 * A batch past its window is marked expired at once (no new line starts) and finalized when
 * its running chunks have stopped, or after a grace period if they do not.
 */
export async function runJanitor(services: Services, now: number): Promise<SweepReport> {
  const holds = await services.ledger.reapHolds(now, services.settings.holdDeadlineSeconds);
  const report: SweepReport = {
    filesDeleted: 0,
    batchesExpired: 0,
    holdsSettled: holds.settled,
    holdsReleased: holds.released,
  };
  for (const work of await services.schedule.due(now)) {
    if (work.kind === "file.expire") {
      const file = await services.files.get(work.id);
      if (file && file.expiresAt <= now) {
        await services.blobs.delete([file.blobKey]);
        await services.files.delete(file.id);
        report.filesDeleted++;
      }
      await services.schedule.done(work);
      continue;
    }
    const batch = await services.batches.get(work.id);
    if (!batch || FINAL_STATUSES.includes(batch.status)) {
      await services.schedule.done(work);
      continue;
    }
    if (batch.expiredAt === null) {
      await services.batches.transition(
        batch.id,
        ["validating", "in_progress", "finalizing", "cancelling"],
        {
          expiredAt: now,
        },
      );
      await services.queue.send({ type: "batch.finalize", batchId: batch.id });
      report.batchesExpired++;
    } else if (now >= batch.expiredAt + services.settings.batches.expiryGraceSeconds) {
      await finalizeBatch(services, batch.id, { force: true });
    }
    // The agenda entry stays until the batch is final (finalize removes it).
  }
  return report;
}
