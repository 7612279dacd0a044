import { hashSecret } from "../auth/secrets";
import { type Account, Accounts, readAccount } from "./accounts";
import { ConditionFailed, type Item, type Table, type TransactOp } from "./table";

export type Role = "user" | "admin";
export type UserStatus = "enabled" | "disabled";

/** Who a user is. Their money lives in their account (store/accounts.ts), an item of its own. */
export interface UserProfile {
  id: string;
  /** Signs in with it; unique, compared without case. */
  username: string;
  /** Shown in the console. */
  name: string;
  role: Role;
  group: string;
  status: UserStatus;
  createdAt: number;
  accessTokenHash?: string;
  /** scrypt (auth/passwords.ts); absent for users who sign in with a token only. */
  passwordHash?: string;
  email?: string;
  /** Bumped when the password changes: sessions of an older version are signed out. */
  sessionVersion?: number;
  /** Overrides of the rate limits of the user's group, set by an admin (billing/rate-limits.ts). */
  rateLimits?: { rpm?: number | null; tpm?: number | null; concurrency?: number | null };
}

/** A user and their account, as read together. */
export interface UserRecord extends UserProfile {
  account: Account;
}

export const userKey = (id: string) => ({ pk: `USER#${id}`, sk: "PROFILE" });
export const accessTokenKey = (hash: string) => ({ pk: `ACCESS#${hash}`, sk: "ACCESS" });
const usernameKey = (username: string) => ({
  pk: `USERNAME#${username.toLowerCase()}`,
  sk: "USERNAME",
});

/** The username is taken (compared without case). */
export class UsernameTaken extends Error {
  constructor(readonly username: string) {
    super(`the username ${username} is taken`);
    this.name = "UsernameTaken";
  }
}

export class Users {
  constructor(private readonly table: Table) {}

  /** The profile and the account, in one query (they share a partition). */
  async get(id: string, consistent = false): Promise<UserRecord | undefined> {
    const { items } = await this.table.query<Item>({
      keyCondition: "pk = :pk",
      values: { ":pk": `USER#${id}` },
      consistent,
    });
    return joinUser(items);
  }

  /**
   * Creates the user, their empty account, the item that reserves their username and, when
   * given, the one that resolves their access token. UsernameTaken when it is.
   */
  async create(user: UserProfile, accessToken?: string): Promise<void> {
    const tokenHash = accessToken ? hashSecret(accessToken) : undefined;
    try {
      await this.table.transact([
        {
          put: { ...usernameKey(user.username), userId: user.id },
          condition: "attribute_not_exists(pk)",
        },
        ...this.createOps(user, tokenHash),
      ]);
    } catch (err) {
      if (err instanceof ConditionFailed && err.reasons[0] === "ConditionalCheckFailed")
        throw new UsernameTaken(user.username);
      throw err;
    }
  }

  /** The user whose username this is (compared without case). */
  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const link = await this.table.get<{ userId: string }>(usernameKey(username), true);
    return link ? this.get(link.userId, true) : undefined;
  }

  /** Sets a new password and signs every session of the old one out. */
  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.table.update(userKey(id), {
      update: "SET passwordHash = :hash ADD sessionVersion :one",
      condition: "attribute_exists(pk)",
      values: { ":hash": passwordHash, ":one": 1 },
    });
  }

  private createOps(user: UserProfile, tokenHash: string | undefined): TransactOp[] {
    return [
      {
        put: {
          ...userKey(user.id),
          gsi1pk: "USERS",
          gsi1sk: user.id,
          ...user,
          accessTokenHash: tokenHash,
          // Their keys, counted as they are made and deleted (store/api-keys.ts).
          kn: 0,
        },
        condition: "attribute_not_exists(pk)",
      },
      { put: Accounts.create(user.id), condition: "attribute_not_exists(pk)" },
      ...(tokenHash
        ? [
            {
              put: { ...accessTokenKey(tokenHash), userId: user.id },
              condition: "attribute_not_exists(pk)",
            },
          ]
        : []),
    ];
  }

  /** Users by id, a page at a time (admin listing). */
  async list(limit: number, startKey?: Record<string, unknown>) {
    const page = await this.table.query<{ pk: string }>({
      index: "gsi1",
      keyCondition: "gsi1pk = :pk",
      values: { ":pk": "USERS" },
      limit,
      startKey,
    });
    const items = await this.table.batchGet<Item>(
      page.items.flatMap(({ pk }) => [
        { pk, sk: "PROFILE" },
        { pk, sk: "ACCOUNT" },
      ]),
    );
    const users = page.items.flatMap(({ pk }) => {
      const user = joinUser(items.filter((item) => item.pk === pk));
      return user ? [user] : [];
    });
    return { items: users, lastKey: page.lastKey };
  }

  /** Sets plain profile fields (status, group, role, name, email, rate limits). */
  async update(
    id: string,
    fields: Partial<
      Pick<UserProfile, "status" | "group" | "role" | "name" | "email" | "rateLimits">
    >,
  ): Promise<UserRecord> {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (entries.length > 0) {
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      const sets = entries.map(([field, value], i) => {
        names[`#f${i}`] = field;
        values[`:v${i}`] = value;
        return `#f${i} = :v${i}`;
      });
      await this.table.update(userKey(id), {
        update: `SET ${sets.join(", ")}`,
        condition: "attribute_exists(pk)",
        names,
        values,
      });
    }
    const user = await this.get(id, true);
    if (!user) throw new Error(`user ${id} vanished`);
    return user;
  }

  /** Replaces the user's access token; the old one stops working at once. */
  async replaceAccessToken(user: UserProfile, token: string): Promise<void> {
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

/** A profile and its account, from the items of the user's partition. */
function joinUser(items: Item[]): UserRecord | undefined {
  const profile = items.find((item) => item.sk === "PROFILE");
  if (!profile) return undefined;
  const account = items.find((item) => item.sk === "ACCOUNT");
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...fields } = profile;
  return {
    ...(fields as unknown as UserProfile),
    account: readAccount(account ?? {}),
  };
}

export function newUserProfile(
  fields: Pick<UserProfile, "id" | "name"> & Partial<UserProfile>,
): UserProfile {
  return {
    username: fields.username ?? fields.name,
    role: "user",
    group: "default",
    status: "enabled",
    createdAt: Math.floor(Date.now() / 1000),
    sessionVersion: 0,
    ...fields,
  };
}
