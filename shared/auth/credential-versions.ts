import type { UserProfile } from "../store/users";

interface Versions {
  session: number;
  token: number;
}

/**
 * The newest session and access-token versions this instance has read for each user. A
 * password change, a reset or a revocation bumps both (a new access token bumps the token's):
 * once this instance has read a user record that says so (the new token or session in use
 * here, a key of the user's read again, or the change made here), a token or session it
 * cached from before is read again at once instead of being believed until its TTL ends.
 * It costs no read: the versions come with the user records the authenticator reads anyway.
 */
export class CredentialVersions {
  private readonly newest = new Map<string, Versions>();

  constructor(private readonly maxEntries = 10_000) {}

  /** Remembers what a user record just read says (never going back to older versions). */
  note(userId: string, versions: { sessionVersion?: number; tokenVersion?: number }): void {
    const known = this.newest.get(userId);
    const next = {
      session: Math.max(known?.session ?? 0, versions.sessionVersion ?? 0),
      token: Math.max(known?.token ?? 0, versions.tokenVersion ?? 0),
    };
    this.newest.delete(userId);
    // Forgetting the oldest only costs it the early end: its TTL still bounds it.
    while (this.newest.size >= this.maxEntries) {
      const oldest = this.newest.keys().next();
      if (oldest.done) break;
      this.newest.delete(oldest.value);
    }
    this.newest.set(userId, next);
  }

  /** A user record cached with a token: the token was replaced or revoked since. */
  tokenOutdated(user: UserProfile): boolean {
    return (user.tokenVersion ?? 0) < (this.newest.get(user.id)?.token ?? 0);
  }

  /** A session of this version was ended since (its user's sessions moved on). */
  sessionOutdated(userId: string, sessionVersion: number): boolean {
    return sessionVersion < (this.newest.get(userId)?.session ?? 0);
  }
}
