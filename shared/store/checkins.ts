import { checkinKey, checkinPartition, TTL } from "./keys";
import type { Schedule, ScheduledWork } from "./schedule";
import { ConditionFailed, type Table } from "./table";

/** How long after its claim the janitor credits a check-in that stopped half-way (seconds). */
export const CHECKIN_FINISH_AFTER_SECONDS = 120;
const DUE_GRID_SECONDS = 300;

/**
 * One user's check-in of one day (in the site's timezone): `claimed` once its item is written,
 * `credited` once its top-up landed. The item is the once-guard: a day is claimed once,
 * however many check-ins race for it.
 */
export interface Checkin {
  userId: string;
  /** YYYY-MM-DD in the site's timezone when it was claimed. */
  date: string;
  units: number;
  state: "claimed" | "credited";
  /** When it was claimed (unix seconds). */
  at: number;
  /** When the janitor credits it, if it is still `claimed` then (unix seconds). */
  due: number;
}

/** The janitor's entry for a claimed check-in (store/schedule.ts). */
export const checkinWork = (checkin: Pick<Checkin, "userId" | "date" | "due">): ScheduledWork => ({
  due: checkin.due,
  kind: "checkin.credit",
  id: `${checkin.userId}/${checkin.date}`,
});

/** The check-in a janitor entry names. */
export function checkinOfWork(work: ScheduledWork): { userId: string; date: string } {
  const slash = work.id.lastIndexOf("/");
  return { userId: work.id.slice(0, slash), date: work.id.slice(slash + 1) };
}

/**
 * Check-ins (`USER#<id>#CHECKIN / <date>`), in a partition of their own: a profile read reads
 * the whole `USER#<id>` partition, so they never go there.
 */
export class Checkins {
  constructor(
    private readonly table: Table,
    private readonly schedule: Schedule,
  ) {}

  /**
   * Claims the day. The janitor's entry that credits it, should this attempt stop before it
   * does, is put first: its time is on a 5-minute grid, so the attempts of a burst put one
   * entry, not one each. The claim is a conditional put of its own, not a transaction with
   * the entry: DynamoDB orders conditional writes to one item, where it cancels transactions
   * that meet (a burst of them would mostly fail, not wait). `made: false` with the check-in
   * found when the day was claimed already (by another attempt, or an earlier one).
   */
  async claim(
    claim: Pick<Checkin, "userId" | "date" | "units" | "at">,
  ): Promise<{ made: boolean; checkin: Checkin }> {
    const due =
      Math.ceil((claim.at + CHECKIN_FINISH_AFTER_SECONDS) / DUE_GRID_SECONDS) * DUE_GRID_SECONDS;
    const checkin: Checkin = { ...claim, state: "claimed", due };
    await this.schedule.add(checkinWork(checkin));
    try {
      await this.table.put(
        { ...checkinKey(claim.userId, claim.date), ...checkin, ttl: TTL.checkin(claim.at) },
        { condition: "attribute_not_exists(pk)", explainFailure: true },
      );
      return { made: true, checkin };
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      const found = err.item ? checkinOf(err.item as unknown as Checkin) : undefined;
      if (!found) throw err;
      return { made: false, checkin: found };
    }
  }

  /** Records that its top-up landed. */
  async markCredited(userId: string, date: string): Promise<void> {
    await this.table.update(checkinKey(userId, date), {
      update: "SET #state = :credited",
      condition: "attribute_exists(pk)",
      names: { "#state": "state" },
      values: { ":credited": "credited" },
    });
  }

  async get(userId: string, date: string): Promise<Checkin | undefined> {
    const item = await this.table.get<Checkin & { pk: string }>(checkinKey(userId, date), true);
    return item && checkinOf(item);
  }

  /** The user's check-ins of a month (`YYYY-MM`), by day. */
  async month(userId: string, month: string): Promise<Checkin[]> {
    const items = await this.table.queryAll<Checkin & { pk: string }>({
      keyCondition: "pk = :pk AND begins_with(sk, :month)",
      values: { ":pk": checkinPartition(userId), ":month": month },
    });
    return items.map(checkinOf);
  }
}

function checkinOf(item: Checkin): Checkin {
  const { userId, date, units, state, at, due } = item;
  return { userId, date, units, state, at, due };
}
