import { hashSecret } from "../auth/secrets";
import { type Clock, systemClock } from "../clock";
import { Conflict, Unauthenticated } from "../errors";
import { msg } from "../messages/codes";
import {
  type AccessTokenEntry,
  AccessTokenLimitReached,
  type AccessTokens,
  type AccessTokenVia,
  accessTokensOf,
  MAX_ACCESS_TOKENS,
  retiredHashes,
} from "./access-tokens";
import { type Account, readAccount } from "./account-codec";
import { Accounts } from "./accounts";
import { Emails } from "./emails";
import type { InviteReward } from "./invitations";
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
  /** The user's system access tokens by name (store/access-tokens.ts). */
  accessTokens?: AccessTokens;
  /** The one token of a profile of before names: read as the token `default`, never written. */
  accessTokenHash?: string;
  /** scrypt (auth/passwords.ts); absent for users who sign in with a token only. */
  passwordHash?: string;
  email?: string;
  // Stream e-mail (issue 22 E).
  /** `email` was proven by a code sent to it (and is claimed for this user: store/emails.ts). */
  emailVerified?: boolean;
  /** The language mail is written in (`en`, `zh`…): the console's at sign-up or since. */
  lang?: string;
  /** Tell by mail when the balance falls below this many units (functions/usage-rollup). */
  lowBalanceAlertUnits?: number;
  /** When that notice went out (unix seconds): none again until the balance is seen above. */
  lowBalanceNotifiedAt?: number;
  /**
   * Bumped when the password changes or an admin resets it or revokes the user's credentials:
   * sessions of an older version are signed out.
   */
  sessionVersion?: number;
  /** Bumped whenever an access token is made, replaced or revoked (auth/credential-versions.ts). */
  tokenVersion?: number;
  /** Unix seconds of the last password change or reset. */
  passwordChangedAt?: number;
  /** The site's free trial quota offered at sign-up (management/trial-credit.ts). */
  trial?: TrialOffer;
  /**
   * When an admin deleted the user (unix seconds): disabled for good, their username free for
   * someone else; the profile and account stay for the money trail (markDeleted).
   */
  deletedAt?: number;
  /** Overrides of the rate limits of the user's group, set by an admin (billing/rate-limits.ts). */
  rateLimits?: { rpm?: number | null; tpm?: number | null; concurrency?: number | null };
  // Invitations (stream E; written by store/invitations.ts).
  /** The user's own invitation code, made on first ask. */
  affCode?: string;
  /** Who invited the user (their code was given at registration). */
  invitedBy?: string;
  /** The reward the user's first qualifying paid order earned their inviter. */
  inviteReward?: InviteReward;
  /** When the user's first paid order was credited (unix seconds). */
  firstPaidAt?: number;
}

/** Trial quota offered to a new account: `pending` until it passes the site's check, then `granted`. */
export interface TrialOffer {
  units: number;
  state: "pending" | "granted";
  /** When it was granted (unix seconds). */
  grantedAt?: number;
}

/** A user's credential versions after a change, and the access tokens it took out of use. */
export interface CredentialsChanged {
  sessionVersion: number;
  tokenVersion: number;
  /** The hashes of the access tokens that stopped working. */
  retiredTokenHashes: string[];
}

/** An access token to store under a name (the secret is hashed; only its tail is kept). */
export interface NewAccessToken {
  secret: string;
  name: string;
  via: AccessTokenVia;
}

/**
 * What a credential change does: it always ends every session and revokes every access
 * token; `passwordHash` sets a new password too.
 */
export interface CredentialChange {
  passwordHash?: string;
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
 * The condition that a user's profile is still at session version `version` (`:version`): no
 * password change, reset or sign-out everywhere has landed since it was read.
 */
export function sessionVersionIs(version: number): string {
  return version === 0
    ? "(attribute_not_exists(sessionVersion) OR sessionVersion = :version)"
    : "sessionVersion = :version";
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

/** The e-mail address is another user's verified address (store/emails.ts). */
export class EmailTaken extends Error {
  constructor() {
    super("the e-mail address belongs to another account");
    this.name = "EmailTaken";
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
   * given, their first access token and the item that resolves it; a verified e-mail is claimed
   * in the same transaction (store/emails.ts). UsernameTaken or EmailTaken when either is.
   */
  async create(user: UserProfile, token?: NewAccessToken): Promise<void> {
    const claim =
      user.emailVerified && user.email
        ? [new Emails(this.table).claimOp(user.email, user.id, user.createdAt)]
        : [];
    try {
      await this.table.transact([
        {
          put: { ...usernameKey(user.username), userId: user.id },
          condition: "attribute_not_exists(pk)",
        },
        ...this.createOps(user, token),
        ...claim,
      ]);
    } catch (err) {
      if (err instanceof ConditionFailed && err.reasons[0] === "ConditionalCheckFailed")
        throw new UsernameTaken(user.username);
      if (
        err instanceof ConditionFailed &&
        claim.length &&
        err.reasons.at(-1) === "ConditionalCheckFailed"
      )
        throw new EmailTaken();
      throw err;
    }
  }

  /**
   * Sets the user's e-mail address (stream e-mail). A `verified` one is claimed for them in the
   * same transaction (EmailTaken when another user holds it); the address they had verified
   * before, if it is another, is given up. "" removes the address.
   */
  async changeEmail(
    id: string,
    email: string,
    change: {
      verified: boolean;
      previous?: { email?: string; emailVerified?: boolean };
      /**
       * The session version the owner proved themselves against (auth/confirm-identity.ts): a
       * password change or sign-out everywhere that landed since refuses the change
       * (StaleCredentials).
       */
      ifSessionVersion?: number;
    },
  ): Promise<void> {
    const emails = new Emails(this.table);
    const previous = change.previous?.emailVerified ? change.previous.email : undefined;
    const same = previous !== undefined && previous.toLowerCase() === email.toLowerCase();
    const verified = change.verified || (same && email !== "");
    const { ifSessionVersion } = change;
    const condition =
      ifSessionVersion === undefined
        ? "attribute_exists(pk)"
        : `attribute_exists(pk) AND ${sessionVersionIs(ifSessionVersion)}`;
    const version = ifSessionVersion === undefined ? {} : { ":version": ifSessionVersion };
    const ops: TransactOp[] = [
      email === ""
        ? {
            key: userKey(id),
            update: "REMOVE email, emailVerified, lowBalanceAlertUnits, lowBalanceNotifiedAt",
            condition,
            ...(ifSessionVersion === undefined ? {} : { values: version }),
          }
        : {
            key: userKey(id),
            update: verified
              ? "SET email = :email, emailVerified = :true"
              : "SET email = :email REMOVE emailVerified, lowBalanceAlertUnits, lowBalanceNotifiedAt",
            condition,
            values: { ":email": email, ...(verified ? { ":true": true } : {}), ...version },
          },
      ...(verified && email !== "" ? [emails.claimOp(email, id, this.clock.seconds())] : []),
      ...(previous && !(same && verified) ? [emails.releaseOp(previous, id)] : []),
    ];
    try {
      await this.table.transact(ops);
    } catch (err) {
      if (err instanceof ConditionFailed && err.reasons[1] === "ConditionalCheckFailed" && verified)
        throw new EmailTaken();
      if (
        err instanceof ConditionFailed &&
        err.reasons[0] === "ConditionalCheckFailed" &&
        ifSessionVersion !== undefined
      )
        throw new StaleCredentials();
      throw err;
    }
  }

  /**
   * The low-balance threshold (units; null: none). Setting it re-arms the notice: the next
   * crossing below it is told (functions/usage-rollup/low-balance.ts).
   */
  async setLowBalanceAlert(id: string, units: number | null): Promise<void> {
    await this.table.update(userKey(id), {
      update:
        units === null
          ? "REMOVE lowBalanceAlertUnits, lowBalanceNotifiedAt"
          : "SET lowBalanceAlertUnits = :units REMOVE lowBalanceNotifiedAt",
      condition: "attribute_exists(pk)",
      ...(units === null ? {} : { values: { ":units": units } }),
    });
  }

  /** The language the user's mail is written in. */
  async setLang(id: string, lang: string): Promise<void> {
    await this.table.update(userKey(id), {
      update: "SET lang = :lang",
      condition: "attribute_exists(pk)",
      values: { ":lang": lang },
    });
  }

  /** The user whose username this is (compared without case). */
  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const link = await this.table.get<{ userId: string }>(usernameKey(username), true);
    return link ? this.get(link.userId, true) : undefined;
  }

  /**
   * Ends every session, revokes every access token and, when given, sets a new password, in
   * one write to the profile: the item a token minted at the same time is conditional on too
   * (issueAccessToken), so that token is either revoked here or refused. ConditionFailed when
   * the user does not exist.
   */
  async changeCredentials(id: string, change: CredentialChange): Promise<CredentialsChanged> {
    const sets = [
      "accessTokens = :none",
      ...(change.passwordHash ? ["passwordHash = :password", "passwordChangedAt = :now"] : []),
    ];
    return this.writeCredentials(id, change.ifSessionVersion, {
      update: `SET ${sets.join(", ")} REMOVE accessTokenHash ADD sessionVersion :one, tokenVersion :one`,
      values: {
        ":one": 1,
        ":none": {},
        ...(change.passwordHash
          ? { ":password": change.passwordHash, ":now": this.clock.seconds() }
          : {}),
      },
      // A retry of a write that landed finds its own new password there.
      landed: (item) =>
        change.passwordHash !== undefined && item.passwordHash === change.passwordHash,
      after: () => ({}),
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

  private createOps(user: UserProfile, token: NewAccessToken | undefined): TransactOp[] {
    const hash = token ? hashSecret(token.secret) : undefined;
    return [
      {
        put: {
          ...userKey(user.id),
          gsi1pk: INDEX.users,
          gsi1sk: user.id,
          ...user,
          accessTokens: token ? { [token.name]: this.entry(token) } : {},
          // Their keys, counted as they are made and deleted (store/api-keys.ts).
          kn: 0,
        },
        condition: "attribute_not_exists(pk)",
      },
      { put: Accounts.create(user.id), condition: "attribute_not_exists(pk)" },
      ...(token && hash
        ? [
            {
              put: { ...accessTokenKey(hash), userId: user.id, tokenName: token.name },
              condition: "attribute_not_exists(pk)",
            },
          ]
        : []),
    ];
  }

  /**
   * Users' names by id (the username, else the display name): their profile items only, read
   * 100 at a time; an id with no user has none.
   */
  async names(ids: string[]): Promise<Map<string, string | null>> {
    const unique = [...new Set(ids)];
    const profiles = await this.table.batchGet<Item>(unique.map((id) => userKey(id)));
    const byPk = new Map(profiles.map((profile) => [profile.pk, profile]));
    return new Map(
      unique.map((id) => {
        const profile = byPk.get(userPartition(id)) as Partial<UserProfile> | undefined;
        return [id, profile?.username ?? profile?.name ?? null];
      }),
    );
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
        // A deleted user stays disabled: ConditionFailed, as for one that does not exist.
        condition: "attribute_exists(pk) AND attribute_not_exists(deletedAt)",
        names,
        values,
      });
    }
    const user = await this.get(id, true);
    if (!user) throw new Error(`user ${id} vanished`);
    return user;
  }

  /**
   * Deletes the user, softly: disabled for good (`deletedAt`; update refuses them from now on)
   * and their username released, in one transaction; the profile, the account and the usage
   * log stay, so every top-up and charge still names who it was. Their credentials are revoked
   * apart (changeCredentials). ConditionFailed when there is no such user or they were deleted.
   */
  async markDeleted(id: string, username: string, at: number): Promise<void> {
    await this.table.transact([
      {
        key: userKey(id),
        update: "SET #status = :disabled, deletedAt = :at",
        condition: "attribute_exists(pk) AND attribute_not_exists(deletedAt)",
        names: { "#status": "status" },
        values: { ":disabled": "disabled", ":at": at },
      },
      // Only their own reservation (a missing one is fine: a delete of nothing succeeds).
      {
        delete: usernameKey(username),
        condition: "attribute_not_exists(pk) OR userId = :id",
        values: { ":id": id },
      },
    ]);
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
   * Stores `token` under its name, replacing only the token of that name (which stops working
   * at once); the user's other tokens stay. A new name beyond MAX_ACCESS_TOKENS is refused
   * (AccessTokenLimitReached). Refused (StaleCredentials) when the user's sessions are no
   * longer of `ifSessionVersion`: a password change or revocation since the caller proved who
   * they are wins over this.
   */
  async issueAccessToken(
    id: string,
    token: NewAccessToken,
    ifSessionVersion: number,
  ): Promise<CredentialsChanged> {
    const entry = this.entry(token);
    await this.putTokenLink(entry.hash, id, token.name);
    try {
      return (await this.rewriteToken(
        id,
        token.name,
        entry,
        ifSessionVersion,
      )) as CredentialsChanged;
    } catch (err) {
      await this.table.delete(accessTokenKey(entry.hash)).catch(() => {});
      throw err;
    }
  }

  /** Revokes the user's token of this name; undefined when they hold none of that name. */
  async revokeAccessToken(id: string, name: string): Promise<CredentialsChanged | undefined> {
    return this.rewriteToken(id, name, null, undefined);
  }

  /**
   * Sets (or, with null, removes) the token `name`. A name the stored map holds is changed in
   * place, whatever happens to the others. A new name is counted, and a map of before names
   * is written whole, so that write is conditional on the tokenVersion read: of two new names
   * made at once (the 10th and the 11th), the loser reads again and is counted anew. Every
   * loss is another's win, so MAX_ROUNDS bounds a burst, not a race.
   */
  private async rewriteToken(
    id: string,
    name: string,
    entry: AccessTokenEntry | null,
    ifSessionVersion: number | undefined,
  ): Promise<CredentialsChanged | undefined> {
    const apply = (tokens: AccessTokens): AccessTokens => {
      const { [name]: _previous, ...others } = tokens;
      return entry ? { ...others, [name]: entry } : others;
    };
    for (let round = 1; ; round++) {
      const profile = await this.table.get<Item>(userKey(id), true);
      if (!profile) throw new ConditionFailed();
      if (
        ifSessionVersion !== undefined &&
        Number(profile.sessionVersion ?? 0) !== ifSessionVersion
      )
        throw new StaleCredentials();
      const stored = profile.accessTokens as AccessTokens | undefined;
      const before = accessTokensOf(profile as Partial<UserProfile>);
      if (!entry && !(name in before)) return undefined;
      if (entry && !(name in before) && Object.keys(before).length >= MAX_ACCESS_TOKENS)
        throw new AccessTokenLimitReached();
      const inPlace = stored !== undefined && name in stored;
      const tokenVersion = Number(profile.tokenVersion ?? 0);
      try {
        return await this.writeCredentials(id, ifSessionVersion, {
          ...(inPlace
            ? {
                update: `${entry ? "SET accessTokens.#name = :entry" : "REMOVE accessTokens.#name"} ADD tokenVersion :one`,
                condition: "attribute_exists(accessTokens.#name)",
                names: { "#name": name },
                values: { ":one": 1, ...(entry ? { ":entry": entry } : {}) },
              }
            : {
                update: "SET accessTokens = :tokens REMOVE accessTokenHash ADD tokenVersion :one",
                condition:
                  tokenVersion === 0
                    ? "(attribute_not_exists(tokenVersion) OR tokenVersion = :tokenVersion)"
                    : "tokenVersion = :tokenVersion",
                values: { ":one": 1, ":tokens": apply(before), ":tokenVersion": tokenVersion },
              }),
          after: apply,
          // A retry of a write that landed finds its token there (or the revoked one gone).
          landed: (item) => {
            const found = (item.accessTokens as AccessTokens | undefined)?.[name];
            return entry ? found?.hash === entry.hash : item.accessTokens !== undefined && !found;
          },
          sessionsEnd: false,
        });
      } catch (err) {
        if (!(err instanceof TokensMoved)) throw err;
        if (round >= MAX_ROUNDS) throw new Conflict(msg("access_tokens_busy"));
      }
    }
  }

  private entry(token: NewAccessToken): AccessTokenEntry {
    return {
      hash: hashSecret(token.secret),
      createdAt: this.clock.seconds(),
      via: token.via,
      tail: token.secret.slice(-4),
    };
  }

  /**
   * The item that finds a token's user. Only the profile says which tokens are current, so a
   * link whose profile write was refused or overtaken is dead: it is deleted when it can be.
   */
  private async putTokenLink(hash: string, userId: string, tokenName: string): Promise<void> {
    // The hash of a random secret: an equal item there is this write's own (Table.create).
    await this.table.create({ ...accessTokenKey(hash), userId, tokenName });
  }

  /**
   * The profile write of a credential change, conditional on the sessions' version when given
   * (and on `condition`), and the links of the tokens it retired, deleted.
   */
  private async writeCredentials(
    id: string,
    ifSessionVersion: number | undefined,
    write: {
      update: string;
      /** A condition on the tokens; its failure, with the sessions held, is TokensMoved. */
      condition?: string;
      names?: Record<string, string>;
      values: Record<string, unknown>;
      /** The tokens after the write, from those before it. */
      after: (before: AccessTokens) => AccessTokens;
      landed: (item: Item) => boolean;
      sessionsEnd: boolean;
    },
  ): Promise<CredentialsChanged> {
    const versionHolds =
      ifSessionVersion === undefined ? "" : ` AND ${sessionVersionIs(ifSessionVersion)}`;
    let before: Item;
    try {
      before =
        (await this.table.update<Item>(userKey(id), {
          update: write.update,
          condition: `attribute_exists(pk)${versionHolds}${write.condition ? ` AND ${write.condition}` : ""}`,
          ...(write.names ? { names: write.names } : {}),
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
          retiredTokenHashes: [],
        };
      }
      if (!err.item) throw err;
      const sessionsHeld =
        ifSessionVersion === undefined || Number(err.item.sessionVersion ?? 0) === ifSessionVersion;
      if (sessionsHeld && write.condition) throw new TokensMoved();
      if (ifSessionVersion === undefined) throw err;
      throw new StaleCredentials();
    }
    const tokensBefore = accessTokensOf(before as Partial<UserProfile>);
    const retired = retiredHashes(tokensBefore, write.after(tokensBefore));
    await Promise.all(
      retired.map((hash) => this.table.delete(accessTokenKey(hash)).catch(() => {})),
    );
    return {
      sessionVersion: Number(before.sessionVersion ?? 0) + (write.sessionsEnd ? 1 : 0),
      tokenVersion: Number(before.tokenVersion ?? 0) + 1,
      retiredTokenHashes: retired,
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
    const current =
      user && Object.values(accessTokensOf(user)).some((entry) => entry.hash === hash);
    return { current: current ? user : undefined, user };
  }
}

/** Rounds of a token change that others' changes may overtake before it gives up. */
const MAX_ROUNDS = 32;

/** The tokens moved between the read and the write (another change landed): read again. */
class TokensMoved extends Error {}

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
