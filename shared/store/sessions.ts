import { hashSecret, randomString } from "../auth/secrets";
import { type Clock, systemClock } from "../clock";
import { sessionKey as keyOf, TTL } from "./keys";
import type { Table } from "./table";

/** A signed-in browser: who, its CSRF token, and the password version it signed in under. */
export interface SessionRecord {
  userId: string;
  csrf: string;
  /** The user's sessionVersion then: a password change since signs it out. */
  version: number;
  /** Unix seconds. */
  expiresAt: number;
  /**
   * Unix seconds of the sign-in with the password that started it (absent in sessions from
   * before it was kept): a recent one may make a new access token without the password.
   */
  signedInAt?: number;
}

/** A session's item: by its token's hash, so the table never holds the token. */
const sessionKey = (token: string) => keyOf(hashSecret(token));

/** Console sessions, stored by the hash of their cookie's token and expired by TTL. */
export class Sessions {
  constructor(
    private readonly table: Table,
    /** A new cookie token (with a check tag: `auth/tags.ts`). */
    private readonly newToken: () => Promise<string>,
    private readonly clock: Clock = systemClock,
  ) {}

  async create(
    userId: string,
    version: number,
    ttlSeconds: number,
  ): Promise<{ token: string; session: SessionRecord }> {
    const token = await this.newToken();
    const now = this.clock.seconds();
    const expiresAt = now + ttlSeconds;
    const session: SessionRecord = {
      userId,
      csrf: randomString(32),
      version,
      expiresAt,
      signedInAt: now,
    };
    // Its csrf is random: a retry that finds this very item there had landed (Table.create).
    await this.table.create({ ...sessionKey(token), ...session, ttl: TTL.session(expiresAt) });
    return { token, session };
  }

  /** The session a cookie names, unless it has expired (a consistent read). */
  async get(token: string): Promise<SessionRecord | undefined> {
    const item = await this.table.get<SessionRecord>(sessionKey(token), true);
    if (!item || item.expiresAt <= this.clock.now() / 1000) return undefined;
    return {
      userId: item.userId,
      csrf: item.csrf,
      version: item.version,
      expiresAt: item.expiresAt,
      ...(item.signedInAt === undefined ? {} : { signedInAt: item.signedInAt }),
    };
  }

  async delete(token: string): Promise<void> {
    await this.table.delete(sessionKey(token));
  }
}
