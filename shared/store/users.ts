import { hashSecret } from "../auth/secrets";
import type { Table } from "./table";

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
