import type { BatchMove } from "../store/batches";

/**
 * A batch's life, as a table of moves: validating → in_progress → finalizing → completed;
 * failed while validating; cancelling → cancelled; expired once past its window. Every
 * change of status is one of these moves, taken only from the statuses it lists (one
 * conditional write: two workers can never both make the same move).
 */
export const MOVES = {
  /** Its input was cut into chunks: they run. */
  start: { name: "start", from: ["validating"], to: "in_progress" },
  /** Its input was refused, or it could not be queued. */
  fail: { name: "fail", from: ["validating"], to: "failed" },
  /** Its owner cancelled it: no new line starts, and finalize makes it cancelled. */
  cancel: { name: "cancel", from: ["validating", "in_progress"], to: "cancelling" },
  /** Every chunk is done: its files are being written. */
  finalizing: { name: "finalizing", from: ["in_progress"], to: "finalizing" },
  /** Its files are written: completed, cancelled or expired, as the caller says. */
  finish: {
    name: "finish",
    from: ["validating", "in_progress", "finalizing", "cancelling"],
    to: ["completed", "cancelled", "expired"],
  },
  /**
   * Past its window (the janitor marks when): no new line starts, and finalize makes it
   * expired. Its status stays until then.
   */
  expire: { name: "expire", from: ["validating", "in_progress", "finalizing", "cancelling"] },
} as const satisfies Record<string, BatchMove>;
