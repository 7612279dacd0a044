import { finalizeBatch } from "../batches/finalize";
import { MOVES } from "../batches/lifecycle";
import type { Services } from "../services";
import { FINAL_STATUSES } from "../store/batches";
import type { ScheduledWork } from "../store/schedule";
import { finishGrowthWork, GROWTH_WORK } from "./growth";
import { sweepOrderWork } from "./orders";

/** What one janitor sweep did, for its log line. */
export interface SweepReport {
  filesDeleted: number;
  /** Stored parts of uploads that expired without being completed or cancelled. */
  uploadPartsDeleted: number;
  batchesExpired: number;
  /** Holds past their deadline, settled from their log line or released. */
  holdsSettled: number;
  holdsReleased: number;
  /** Holds (or items with holds) the sweep could not reap: the next sweep tries again. */
  holdsFailed: number;
  /** stream E (growth): check-ins and invitation rewards claimed and credited only now. */
  growthFinished?: number;
  /** Agenda work that failed (logged, its entry kept): the next sweep tries it again. */
  workFailed?: number;
}

/**
 * The janitor's sweep (an EventBridge schedule on AWS, a timer locally): settles or releases
 * holds past their deadline (calls whose process stopped), expires batches past their 24 h
 * window and deletes expired files. It reads only the work that is due.
 *
 * A batch past its window is marked expired at once (no new line starts) and finalized when
 * its running chunks have stopped, or after a grace period if they do not. Holds are reaped
 * last, so that many of them (or a slow store) cannot keep the batches and files waiting.
 */
export async function runJanitor(services: Services, now: number): Promise<SweepReport> {
  const report: SweepReport = {
    filesDeleted: 0,
    uploadPartsDeleted: 0,
    batchesExpired: 0,
    holdsSettled: 0,
    holdsReleased: 0,
    holdsFailed: 0,
  };
  try {
    await sweepAgenda(services, now, report);
  } finally {
    // Reaped even when the agenda's work failed: neither keeps the other waiting.
    const holds = await services.ledger.reapHolds(now, services.settings.holdDeadlineSeconds);
    report.holdsSettled = holds.settled;
    report.holdsReleased = holds.released;
    report.holdsFailed = holds.failed;
  }
  return report;
}

/**
 * The work on the agenda that is due: orders, check-ins and rewards finished, expired files
 * deleted, batches expired. A piece of work that fails keeps its entry for the next sweep and
 * is logged; it does not keep the work after it waiting (the agenda is read oldest first).
 */
async function sweepAgenda(services: Services, now: number, report: SweepReport): Promise<void> {
  for (const work of await services.schedule.due(now)) {
    try {
      await sweepWork(services, work, now, report);
    } catch (err) {
      report.workFailed = (report.workFailed ?? 0) + 1;
      services.log.warn("agenda_work_failed", { work, error: String(err) });
    }
  }
}

async function sweepWork(
  services: Services,
  work: ScheduledWork,
  now: number,
  report: SweepReport,
): Promise<void> {
  // Payments (stream c-pay): orders to credit or expire.
  if (await sweepOrderWork(services, work, now)) return;
  // stream E (growth)
  if (GROWTH_WORK.includes(work.kind)) {
    if (await finishGrowthWork(services, work))
      report.growthFinished = (report.growthFinished ?? 0) + 1;
    return;
  }
  if (work.kind === "upload.expire") {
    // Completion and cancellation delete the parts themselves; an expired upload's go here.
    const upload = await services.uploads.get(work.id);
    if (upload?.status === "pending" && upload.expiresAt <= now) {
      const parts = await services.uploads.parts(upload.id);
      if (parts.length) await services.blobs.delete(parts.map((part) => part.blobKey));
      report.uploadPartsDeleted += parts.length;
    }
    await services.schedule.done(work);
    return;
  }
  if (work.kind === "file.expire") {
    const file = await services.files.get(work.id);
    if (file && file.expiresAt <= now) {
      await services.blobs.delete([file.blobKey]);
      await services.files.delete(file);
      report.filesDeleted++;
    }
    await services.schedule.done(work);
    return;
  }
  const batch = await services.batches.get(work.id);
  if (!batch || FINAL_STATUSES.includes(batch.status)) {
    await services.schedule.done(work);
    return;
  }
  if (batch.expiredAt === null) {
    await services.batches.transition(batch.id, MOVES.expire, { expiredAt: now });
    await services.queue.send({ type: "batch.finalize", batchId: batch.id });
    report.batchesExpired++;
  } else if (now >= batch.expiredAt + services.settings.batches.expiryGraceSeconds) {
    await finalizeBatch(services, batch.id, { force: true });
  }
  // The agenda entry stays until the batch is final (finalize removes it).
}
