import { SCHEDULE_PARTITION, scheduleDueBy, scheduleSortKey } from "./keys";
import type { Table, TransactOp } from "./table";

/** Something the janitor must do once its time has come. */
export interface ScheduledWork {
  /** Unix seconds. */
  due: number;
  kind:
    | "file.expire"
    | "batch.expire"
    | "upload.expire"
    // stream c-pay: an order to expire unpaid, or a paid one to finish crediting
    | "order.expire"
    | "order.credit"
    // stream E (growth): a check-in or invitation reward claimed, to be credited if it is not
    | "checkin.credit"
    | "invite.reward";
  id: string;
}

/**
 * The janitor's agenda: one small item per file or batch deadline, sorted by time, so a
 * sweep reads only what is due instead of scanning the table.
 */
export class Schedule {
  constructor(private readonly table: Table) {}

  /** The write that puts work on the agenda, to go in the same transaction as its subject. */
  static entry(work: ScheduledWork): TransactOp {
    return { put: { pk: SCHEDULE_PARTITION, sk: scheduleSortKey(work), ...work } };
  }

  /** The write that takes work off the agenda, to go in the transaction that finishes it. */
  static removal(work: ScheduledWork): TransactOp {
    return { delete: { pk: SCHEDULE_PARTITION, sk: scheduleSortKey(work) } };
  }

  /** Puts work on the agenda on its own (again: the same work is one entry). */
  async add(work: ScheduledWork): Promise<void> {
    await this.table.put({ pk: SCHEDULE_PARTITION, sk: scheduleSortKey(work), ...work });
  }

  /** Everything due by `now`, oldest first. */
  async due(now: number): Promise<ScheduledWork[]> {
    const items = await this.table.queryAll<ScheduledWork & { pk: string; sk: string }>({
      keyCondition: "pk = :pk AND sk <= :now",
      values: { ":pk": SCHEDULE_PARTITION, ":now": scheduleDueBy(now) },
    });
    return items.map(({ due, kind, id }) => ({ due, kind, id }));
  }

  async done(work: ScheduledWork): Promise<void> {
    await this.table.delete({ pk: SCHEDULE_PARTITION, sk: scheduleSortKey(work) });
  }
}
