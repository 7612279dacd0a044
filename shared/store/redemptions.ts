import { hashSecret } from "../auth/secrets";
import type { Bucket } from "./buckets";
import { byCreation, INDEX, redemptionKey } from "./keys";
import { ConditionFailed, type Item, type Table } from "./table";

export type RedemptionStatus = "enabled" | "disabled" | "used";

/** A redemption code: quota for whoever redeems it first. The code itself is kept only hashed. */
export interface Redemption {
  /** Names the code in the admin's lists (derived from the code: a code finds its record). */
  id: string;
  name: string;
  quota: number;
  bucket: Extract<Bucket, "paid" | "bonus">;
  status: RedemptionStatus;
  createdAt: number;
  createdBy: string;
  usedBy?: string;
  usedAt?: number;
}

/** A code's id: a prefix of its hash, so that only the code leads to it. */
export const redemptionId = (code: string) => hashSecret(code).slice(0, 24);

export class Redemptions {
  constructor(private readonly table: Table) {}

  async create(code: string, fields: Omit<Redemption, "id" | "status">): Promise<Redemption> {
    const record: Redemption = { ...fields, id: redemptionId(code), status: "enabled" };
    // The hash of a random code: an equal item there is this write's own (Table.create).
    await this.table.create({
      ...redemptionKey(record.id),
      gsi1pk: INDEX.redemptions,
      gsi1sk: byCreation(record.createdAt, record.id),
      ...record,
    });
    return record;
  }

  async get(id: string): Promise<Redemption | undefined> {
    const item = await this.table.get<Redemption & Item>(redemptionKey(id), true);
    return item && toRecord(item);
  }

  /** Newest first, a page at a time. */
  async list(limit: number, keep: (code: Redemption) => boolean = () => true) {
    const page = await this.table.keptItems<Redemption & Item>(
      {
        index: "gsi1",
        keyCondition: "gsi1pk = :pk",
        values: { ":pk": INDEX.redemptions },
        ascending: false,
      },
      limit,
      (item) => keep(toRecord(item)),
    );
    return { codes: page.items.map(toRecord), hasMore: page.hasMore };
  }

  /**
   * Marks the code used by `userId`, once: of any number of redemptions at once, one wins.
   * Returns the record as it now is; "taken" when it was used (by someone else), disabled or
   * never existed. A second redemption by the same user returns the record (so a redemption
   * that stopped half-way can finish: its top-up is idempotent).
   */
  async redeem(id: string, userId: string, now: number): Promise<Redemption | "taken"> {
    try {
      const item = await this.table.update<Redemption & Item>(redemptionKey(id), {
        update: "SET #status = :used, usedBy = :user, usedAt = :now",
        condition: "#status = :enabled",
        names: { "#status": "status" },
        values: { ":used": "used", ":user": userId, ":now": now, ":enabled": "enabled" },
        returnValues: "ALL_NEW",
        explainFailure: true,
      });
      return toRecord(item as Redemption & Item);
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      const old = err.item as (Redemption & Item) | undefined;
      return old && old.status === "used" && old.usedBy === userId ? toRecord(old) : "taken";
    }
  }

  /**
   * Gives back a code `userId` took but could not use (their sign-up failed after); nothing
   * when they no longer hold it (a retry of a release that landed, its answer lost).
   */
  async release(id: string, userId: string): Promise<void> {
    try {
      await this.table.update(redemptionKey(id), {
        update: "SET #status = :enabled REMOVE usedBy, usedAt",
        condition: "#status = :used AND usedBy = :user",
        names: { "#status": "status" },
        values: { ":enabled": "enabled", ":used": "used", ":user": userId },
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
    }
  }

  /** Enables or disables a code that has not been used. */
  async setStatus(id: string, status: "enabled" | "disabled"): Promise<Redemption | undefined> {
    try {
      const item = await this.table.update<Redemption & Item>(redemptionKey(id), {
        update: "SET #status = :status",
        condition: "attribute_exists(pk) AND #status <> :used",
        names: { "#status": "status" },
        values: { ":status": status, ":used": "used" },
        returnValues: "ALL_NEW",
      });
      return item && toRecord(item);
    } catch (err) {
      if (err instanceof ConditionFailed) return undefined;
      throw err;
    }
  }

  /**
   * Deletes the code; false when there was none. Whether there was one is read first: a
   * conditional delete's retry, its answer lost, would find none and say so.
   */
  async delete(id: string): Promise<boolean> {
    if (!(await this.table.get(redemptionKey(id), true))) return false;
    await this.table.delete(redemptionKey(id));
    return true;
  }
}

function toRecord(item: Redemption & Item): Redemption {
  const { id, name, quota, bucket, status, createdAt, createdBy, usedBy, usedAt } = item;
  return { id, name, quota, bucket, status, createdAt, createdBy, usedBy, usedAt };
}
