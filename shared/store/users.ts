import { hashSecret } from "../auth/secrets";
import { type Bucket, balancesOf } from "../billing/balance";
import { ConditionFailed, type Table } from "./table";

export type Role = "user" | "admin";
export type UserStatus = "enabled" | "disabled";

/**
 * A user and their balance in quota units ($1 = 500,000). The free, bonus and paid buckets
 * are derived from the *Base fields and usedQuota (see billing/balance.ts) so that spending
 * only ever touches two counters: `available` (what can still be held) and `usedQuota`.
 */
export interface UserRecord {
  id: string;
  name: string;
  role: Role;
  group: string;
  status: UserStatus;
  createdAt: number;
  /** Remaining free / bonus / paid quota at the moment usedQuota was usedAtBase. */
  freeBase: number;
  bonusBase: number;
  paidBase: number;
  usedAtBase: number;
  /** Total remaining minus outstanding holds: the one counter a hold checks. */
  available: number;
  usedQuota: number;
  requestCount: number;
  accessTokenHash?: string;
}

export const userKey = (id: string) => ({ pk: `USER#${id}`, sk: "PROFILE" });
export const accessTokenKey = (hash: string) => ({ pk: `ACCESS#${hash}`, sk: "ACCESS" });

export class Users {
  constructor(private readonly table: Table) {}

  async get(id: string, consistent = false): Promise<UserRecord | undefined> {
    return this.table.get<UserRecord>(userKey(id), consistent);
  }

  /** Creates the user and, when given, the item that resolves their access token. */
  async create(user: UserRecord, accessToken?: string): Promise<void> {
    const tokenHash = accessToken ? hashSecret(accessToken) : undefined;
    await this.table.transact([
      {
        put: {
          ...userKey(user.id),
          gsi1pk: "USERS",
          gsi1sk: user.id,
          ...user,
          accessTokenHash: tokenHash,
        },
        condition: "attribute_not_exists(pk)",
      },
      ...(tokenHash
        ? [
            {
              put: { ...accessTokenKey(tokenHash), userId: user.id },
              condition: "attribute_not_exists(pk)",
            },
          ]
        : []),
    ]);
  }

  /** Users by id, a page at a time (admin listing). */
  async list(limit: number, startKey?: Record<string, unknown>) {
    return this.table.query<UserRecord>({
      index: "gsi1",
      keyCondition: "gsi1pk = :pk",
      values: { ":pk": "USERS" },
      limit,
      startKey,
    });
  }

  /** Sets plain profile fields (status, group, role, name). */
  async update(
    id: string,
    fields: Partial<Pick<UserRecord, "status" | "group" | "role" | "name">>,
  ): Promise<UserRecord> {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return (await this.get(id, true)) as UserRecord;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = entries.map(([field, value], i) => {
      names[`#f${i}`] = field;
      values[`:v${i}`] = value;
      return `#f${i} = :v${i}`;
    });
    return (await this.table.update<UserRecord>(userKey(id), {
      update: `SET ${sets.join(", ")}`,
      condition: "attribute_exists(pk)",
      names,
      values,
      returnValues: "ALL_NEW",
    })) as UserRecord;
  }

  /**
   * Adds quota to one bucket. The buckets are derived from usedQuota, so the top-up first
   * re-bases them at the current usage; the write only lands if no charge moved usedQuota
   * in between (optimistic concurrency), else it is recomputed.
   */
  async topUp(id: string, units: number, bucket: Bucket): Promise<UserRecord> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const user = await this.get(id, true);
      if (!user) throw new ConditionFailed();
      const balances = balancesOf(user);
      balances[bucket] += units;
      try {
        return (await this.table.update<UserRecord>(userKey(id), {
          update:
            "SET freeBase = :free, bonusBase = :bonus, paidBase = :paid, usedAtBase = :used, available = available + :units",
          condition: "usedQuota = :used",
          values: {
            ":free": balances.free,
            ":bonus": balances.bonus,
            ":paid": balances.paid,
            ":used": user.usedQuota,
            ":units": units,
          },
          returnValues: "ALL_NEW",
        })) as UserRecord;
      } catch (err) {
        if (!(err instanceof ConditionFailed)) throw err;
      }
    }
    throw new Error(`could not top up user ${id}: too much concurrent spending`);
  }

  /** Replaces the user's access token; the old one stops working at once. */
  async replaceAccessToken(user: UserRecord, token: string): Promise<void> {
    const hash = hashSecret(token);
    await this.table.transact([
      ...(user.accessTokenHash ? [{ delete: accessTokenKey(user.accessTokenHash) }] : []),
      { put: { ...accessTokenKey(hash), userId: user.id }, condition: "attribute_not_exists(pk)" },
      {
        key: userKey(user.id),
        update: "SET accessTokenHash = :hash",
        condition: "attribute_exists(pk)",
        values: { ":hash": hash },
      },
    ]);
  }

  /** The user an access token belongs to, if the token is current. */
  async findByAccessToken(token: string): Promise<UserRecord | undefined> {
    const hash = hashSecret(token);
    const link = await this.table.get<{ userId: string }>(accessTokenKey(hash));
    if (!link) return undefined;
    const user = await this.get(link.userId);
    return user?.accessTokenHash === hash ? user : undefined;
  }
}

export function newUserRecord(
  fields: Pick<UserRecord, "id" | "name"> & Partial<UserRecord>,
): UserRecord {
  return {
    role: "user",
    group: "default",
    status: "enabled",
    createdAt: Math.floor(Date.now() / 1000),
    freeBase: 0,
    bonusBase: 0,
    paidBase: 0,
    usedAtBase: 0,
    available: 0,
    usedQuota: 0,
    requestCount: 0,
    ...fields,
  };
}
