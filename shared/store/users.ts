import { hashSecret } from "../auth/secrets";
import { type Clock, systemClock } from "../clock";
import { Unauthenticated } from "../errors";
import { type Account, readAccount } from "./account-codec";
import { Accounts } from "./accounts";
import { accessTokenKey, INDEX, USER_ITEMS, userKey, usernameKey, userPartition } from "./keys";
import { ConditionFailed, type Item, setFields, type Table, type TransactOp } from "./table";

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
  /**
   * Bumped when the password changes or an admin resets it or revokes the user's credentials:
   * sessions of an older version are signed out.
   */
  sessionVersion?: number;
  /** Bumped whenever the access token is replaced or revoked (auth/credential-versions.ts). */
  tokenVersion?: number;
  /** Unix seconds of the last password change or reset. */
  passwordChangedAt?: number;
  /** The site's free trial quota offered at sign-up (management/trial-credit.ts). */
  trial?: TrialOffer;
  /** Overrides of the rate limits of the user's group, set by an admin (billing/rate-limits.ts). */
  rateLimits?: { rpm?: number | null; tpm?: number | null; concurrency?: number | null };
}

/** Trial quota offered to a new account: `pending` until it passes the site's check, then `granted`. */
export interface TrialOffer {
  units: number;
  state: "pending" | "granted";
  /** When it was granted (unix seconds). */
  grantedAt?: number;
}

/** A user's credential versions after a change, and the access token it took out of use. */
export interface CredentialsChanged {
  sessionVersion: number;
  tokenVersion: number;
  /** The hash of the access token that stopped working, if there was one. */
  retiredTokenHash?: string;
}

/**
 * What a credential change does: it always ends every session and replaces (with
 * `accessToken`) or revokes the access token; `passwordHash` sets a new password too.
 */
export interface CredentialChange {
  passwordHash?: string;
  accessToken?: string;
  /**
   * Refused (StaleCredentials) unless the user's sessions are still of this version: the
   * version the caller's proof of identity was checked against.
   */
  ifSessionVersion?: number;
}

/** A user and their account, as read together. */
export interface UserRecord extends UserProfile {
  account: Account;
}

/**
 * A credential change was refused: the password was changed, or the sessions ended, after the
 * caller proved who they are (a session or password of before that).
 */
export class StaleCredentials extends Unauthenticated {
  constructor() {
    super(
      "This account's password was changed, or its sessions were ended, while this request was on its way. Sign in again.",
      "credentials_changed",
    );
  }
}

/** The username is taken (compared without case). */
export class UsernameTaken extends Error {
  constructor(readonly username: string) {
    super(`the username ${username} is taken`);
    this.name = "UsernameTaken";
  }
}

export class Users {
  constructor(
    private readonly table: Table,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The profile and the account, in one query (they share a partition). */
  async get(id: string, consistent = false): Promise<UserRecord | undefined> {
    const { items } = await this.table.query<Item>({
      keyCondition: "pk = :pk",
      values: { ":pk": userPartition(id) },
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

  /**
   * Ends every session, replaces or revokes the access token and, when given, sets a new
   * password, in one write to the profile: the item a token minted at the same time is
   * conditional on too (replaceAccessToken), so that token is either replaced here or refused.
   * ConditionFailed when the user does not exist.
   */
  async changeCredentials(id: string, change: CredentialChange): Promise<CredentialsChanged> {
    const newHash = change.accessToken ? hashSecret(change.accessToken) : undefined;
    if (newHash) await this.putTokenLink(newHash, id);
    const sets = [
      ...(change.passwordHash ? ["passwordHash = :password", "passwordChangedAt = :now"] : []),
      ...(newHash ? ["accessTokenHash = :token"] : []),
    ];
    return this.writeCredentials(id, newHash, change.ifSessionVersion, {
      update: `${sets.length ? `SET ${sets.join(", ")} ` : ""}${
        newHash ? "" : "REMOVE accessTokenHash "
      }ADD sessionVersion :one, tokenVersion :one`,
      values: {
        ":one": 1,
        ...(change.passwordHash
          ? { ":password": change.passwordHash, ":now": this.clock.seconds() }
          : {}),
        ...(newHash ? { ":token": newHash } : {}),
      },
      // A retry of a write that landed finds its own new password or token there.
      landed: (item) =>
        change.passwordHash
          ? item.passwordHash === change.passwordHash
          : newHash !== undefined && item.accessTokenHash === newHash,
      sessionsEnd: true,
    });
  }

  /**
   * A password for a user who has none (who signed in with their access token only): no
   * session can exist yet, and the token stays. ConditionFailed when they have one.
   */
  async setFirstPassword(id: string, passwordHash: string): Promise<void> {
    await this.table.update(userKey(id), {
      update: "SET passwordHash = :hash, passwordChangedAt = :now",
      condition: "attribute_exists(pk) AND attribute_not_exists(passwordHash)",
      values: { ":hash": passwordHash, ":now": this.clock.seconds() },
    });
  }

  private createOps(user: UserProfile, tokenHash: string | undefined): TransactOp[] {
    return [
      {
        put: {
          ...userKey(user.id),
          gsi1pk: INDEX.users,
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
      values: { ":pk": INDEX.users },
      limit,
      startKey,
    });
    const items = await this.table.batchGet<Item>(
      page.items.flatMap(({ pk }) => [
        { pk, sk: USER_ITEMS.profile },
        { pk, sk: USER_ITEMS.account },
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
    const { assignments, names, values } = setFields(fields);
    if (assignments.length > 0) {
      await this.table.update(userKey(id), {
        update: `SET ${assignments.join(", ")}`,
        condition: "attribute_exists(pk)",
        names,
        values,
      });
    }
    const user = await this.get(id, true);
    if (!user) throw new Error(`user ${id} vanished`);
    return user;
  }

  /** Records the trial offer as granted (its top-up landed). ConditionFailed if there is none. */
  async markTrialGranted(id: string, at: number): Promise<void> {
    await this.table.update(userKey(id), {
      update: "SET trial.#state = :granted, trial.grantedAt = :at",
      condition: "attribute_exists(trial)",
      names: { "#state": "state" },
      values: { ":granted": "granted", ":at": at },
    });
  }

  /**
   * Replaces the user's access token; the old one stops working at once. Refused
   * (StaleCredentials) when the user's sessions are no longer of `ifSessionVersion`: a
   * password change or revocation since the caller proved who they are wins over this.
   */
  async replaceAccessToken(
    id: string,
    token: string,
    ifSessionVersion: number,
  ): Promise<CredentialsChanged> {
    const hash = hashSecret(token);
    await this.putTokenLink(hash, id);
    return this.writeCredentials(id, hash, ifSessionVersion, {
      update: "SET accessTokenHash = :token ADD tokenVersion :one",
      values: { ":one": 1, ":token": hash },
      landed: (item) => item.accessTokenHash === hash,
      sessionsEnd: false,
    });
  }

  /**
   * The item that finds a token's user. Only the profile says which token is current, so a
   * link whose profile write was refused or overtaken is dead: it is deleted when it can be.
   */
  private async putTokenLink(hash: string, userId: string): Promise<void> {
    await this.table.put(
      { ...accessTokenKey(hash), userId },
      { condition: "attribute_not_exists(pk)" },
    );
  }

  /** The profile write of a credential change, and the links it made current or dead. */
  private async writeCredentials(
    id: string,
    newHash: string | undefined,
    ifSessionVersion: number | undefined,
    write: {
      update: string;
      values: Record<string, unknown>;
      landed: (item: Item) => boolean;
      sessionsEnd: boolean;
    },
  ): Promise<CredentialsChanged> {
    const versionHolds =
      ifSessionVersion === undefined
        ? ""
        : ifSessionVersion === 0
          ? " AND (attribute_not_exists(sessionVersion) OR sessionVersion = :version)"
          : " AND sessionVersion = :version";
    let before: Item;
    try {
      before =
        (await this.table.update<Item>(userKey(id), {
          update: write.update,
          condition: `attribute_exists(pk)${versionHolds}`,
          values: {
            ...write.values,
            ...(ifSessionVersion === undefined ? {} : { ":version": ifSessionVersion }),
          },
          returnValues: "ALL_OLD",
          explainFailure: true,
        })) ?? {};
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      if (err.item && write.landed(err.item)) {
        // Its answer was lost and the retry found it done: the versions are the item's now.
        return {
          sessionVersion: Number(err.item.sessionVersion ?? 0),
          tokenVersion: Number(err.item.tokenVersion ?? 0),
        };
      }
      if (newHash) await this.table.delete(accessTokenKey(newHash)).catch(() => {});
      if (!err.item || ifSessionVersion === undefined) throw err;
      throw new StaleCredentials();
    }
    const retired = before.accessTokenHash as string | undefined;
    if (retired && retired !== newHash)
      await this.table.delete(accessTokenKey(retired)).catch(() => {});
    return {
      sessionVersion: Number(before.sessionVersion ?? 0) + (write.sessionsEnd ? 1 : 0),
      tokenVersion: Number(before.tokenVersion ?? 0) + 1,
      ...(retired && retired !== newHash ? { retiredTokenHash: retired } : {}),
    };
  }

  /**
   * The user an access token belongs to, if the token is current; `user` is the user read
   * (whether or not the token is theirs still). Consistent reads: a token replaced or revoked
   * before this read began is never found current.
   */
  async findByAccessToken(token: string): Promise<{ current?: UserRecord; user?: UserRecord }> {
    const hash = hashSecret(token);
    const link = await this.table.get<{ userId: string }>(accessTokenKey(hash), true);
    if (!link) return {};
    const user = await this.get(link.userId, true);
    return { current: user?.accessTokenHash === hash ? user : undefined, user };
  }
}

/** A profile and its account, from the items of the user's partition. */
function joinUser(items: Item[]): UserRecord | undefined {
  const profile = items.find((item) => item.sk === USER_ITEMS.profile);
  if (!profile) return undefined;
  const account = items.find((item) => item.sk === USER_ITEMS.account);
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...fields } = profile;
  return {
    ...(fields as unknown as UserProfile),
    account: readAccount(account ?? {}),
  };
}

export function newUserProfile(
  fields: Pick<UserProfile, "id" | "name"> & Partial<UserProfile>,
  /** When the user is made (unix seconds). */
  now = systemClock.seconds(),
): UserProfile {
  return {
    username: fields.username ?? fields.name,
    role: "user",
    group: "default",
    status: "enabled",
    createdAt: now,
    sessionVersion: 0,
    ...fields,
  };
}
