import { RecentSet, TtlCache } from "../cache";
import { type Clock, systemClock } from "../clock";
import { Forbidden, Unauthenticated } from "../errors";
import type { GatewayRequest } from "../http/types";
import { msg } from "../messages/codes";
import type { ApiKeyRecord, ApiKeys } from "../store/api-keys";
import type { SessionRecord, Sessions } from "../store/sessions";
import type { CredentialsChanged, UserRecord, Users } from "../store/users";
import { CredentialVersions } from "./credential-versions";
import { hashSecret, maskSecret } from "./secrets";
import type { CredentialTags } from "./tags";

/** Who is calling /v1/*: an `sk-` key and the user it belongs to. */
export interface KeyPrincipal {
  key: ApiKeyRecord;
  user: UserRecord;
}

/**
 * Who is calling /api/*: a user, through their system access token or, from the console,
 * their session (whose CSRF token every change must carry).
 */
export interface UserPrincipal {
  user: UserRecord;
  session?: {
    token: string;
    csrf: string;
    /** The user's sessionVersion it signed in under (a password change since ends it). */
    version: number;
    /** Unix seconds of its sign-in with the password (absent in older sessions). */
    signedInAt?: number;
  };
}

/** The console's session cookie. */
export const SESSION_COOKIE = "sluice_session";

/**
 * Tells who is calling from their credential. A credential sluice cannot have issued (a wrong
 * prefix, length or check tag) is refused before any read; what was read is kept in memory for
 * `cacheTtlMs` (keys, access tokens, sessions: at most 10,000 of each, the least recently used
 * evicted first), and so are the credentials looked up and not found, apart, so that misses
 * never push out the credentials in use. Access tokens and sessions are never answered from
 * the cache past their TTL (keys are, once, while they are read again), and one of a user
 * whose credentials changed since it was cached is read again at once when this instance
 * knows of the change (credential-versions.ts).
 */
export class Authenticator {
  private readonly keys: TtlCache<string, KeyPrincipal | undefined>;
  private readonly tokens: TtlCache<string, UserRecord | undefined>;
  private readonly sessionsByHash: TtlCache<string, SignedIn | undefined>;
  private readonly misses: RecentSet<string>;
  private readonly versions = new CredentialVersions();

  constructor(
    private readonly apiKeys: ApiKeys,
    private readonly users: Users,
    private readonly sessions: Sessions,
    private readonly tags: CredentialTags,
    cacheTtlMs: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.keys = new TtlCache(cacheTtlMs);
    // A revoked token or ended session must stop within the TTL on every instance.
    this.tokens = new TtlCache(cacheTtlMs, { serveStale: false });
    this.sessionsByHash = new TtlCache(cacheTtlMs, { serveStale: false });
    this.misses = new RecentSet(cacheTtlMs);
  }

  /**
   * Resolves the key of an API call: Anthropic-style `x-api-key: sk-…` (what Claude Code sends
   * for ANTHROPIC_API_KEY; it counts first, as Anthropic's API reads it first), else
   * `Authorization: Bearer sk-…`, else Azure-style `api-key: sk-…`.
   */
  async apiKey(request: GatewayRequest): Promise<KeyPrincipal> {
    const secret = request.headers["x-api-key"] || bearer(request) || request.headers["api-key"];
    if (!secret) throw missingApiKey();
    if (!(await this.tags.plausible("key", secret))) throw invalidApiKey(maskSecret(secret));
    const id = hashSecret(secret);
    const principal = await this.lookup(this.keys, id, () => this.loadKey(id));
    if (!principal) throw invalidApiKey(maskSecret(secret));
    checkKeyUsable(principal, this.clock.seconds());
    return principal;
  }

  /**
   * Resolves `Authorization: Bearer <system access token>` on /api/*, or else the console's
   * session cookie. A session signed in before the last password change is signed out.
   */
  async user(request: GatewayRequest): Promise<UserPrincipal> {
    const token = bearer(request);
    if (!token) {
      const cookie = cookieValue(request, SESSION_COOKIE);
      if (cookie) return this.session(cookie);
      throw new Unauthenticated(msg("sign_in_required"));
    }
    if (token.startsWith("sk-")) {
      throw new Unauthenticated(msg("api_key_on_management"));
    }
    const user =
      (await this.tags.plausible("accessToken", token)) &&
      (await this.lookup(
        this.tokens,
        hashSecret(token),
        () => this.loadToken(token),
        (cached) => this.versions.tokenOutdated(cached),
      ));
    if (!user) throw new Unauthenticated(msg("access_token_invalid"));
    if (user.status !== "enabled") throw new Forbidden(msg("account_disabled"));
    return { user };
  }

  private async session(cookie: string): Promise<UserPrincipal> {
    const found =
      (await this.tags.plausible("session", cookie)) &&
      (await this.lookup(
        this.sessionsByHash,
        hashSecret(cookie),
        () => this.loadSession(cookie),
        (cached) => this.versions.sessionOutdated(cached.user.id, cached.session.version),
      ));
    if (!found || found.session.expiresAt <= this.clock.now() / 1000) {
      throw new Unauthenticated(msg("session_expired"), "session_expired");
    }
    const { session, user } = found;
    if (user.status !== "enabled") throw new Forbidden(msg("account_disabled"));
    return {
      user,
      session: {
        token: cookie,
        csrf: session.csrf,
        version: session.version,
        ...(session.signedInAt === undefined ? {} : { signedInAt: session.signedInAt }),
      },
    };
  }

  /**
   * What the cache holds for `id`, else what `load` reads; nothing is read for an id looked up
   * and not found within the TTL. A cached value that `outdated` says was overtaken is read
   * again.
   */
  private async lookup<V>(
    cache: TtlCache<string, V | undefined>,
    id: string,
    load: () => Promise<V | undefined>,
    outdated: (cached: V) => boolean = () => false,
  ): Promise<V | undefined> {
    if (this.misses.has(id)) return undefined;
    let found = await cache.get(id, load);
    if (found !== undefined && outdated(found)) {
      cache.delete(id);
      found = await cache.get(id, load);
    }
    if (found === undefined) {
      cache.delete(id);
      this.misses.add(id);
    }
    return found;
  }

  /** Forgets a session at once on this instance (signed out). */
  forgetSession(cookie: string): void {
    this.sessionsByHash.delete(hashSecret(cookie));
  }

  /**
   * A user's credentials changed here (a new access token, a password change, a reset, a
   * revocation): this instance stops taking their retired tokens, and their sessions of before a
   * change that ended them, at once.
   */
  credentialsChanged(userId: string, change: CredentialsChanged): void {
    this.versions.note(userId, change);
    for (const hash of change.retiredTokenHashes) this.tokens.delete(hash);
  }

  /** Forgets a key so the next request re-reads it (after it was changed through the API). */
  forgetKey(id: string): void {
    this.keys.delete(id);
    this.misses.delete(id);
  }

  /**
   * Forgets every cached key, access token and session, e.g. after a user's status, group or
   * password changed.
   */
  forgetAll(): void {
    this.keys.clear();
    this.tokens.clear();
    this.sessionsByHash.clear();
    this.misses.clear();
  }

  private async loadKey(id: string): Promise<KeyPrincipal | undefined> {
    const key = await this.apiKeys.get(id);
    if (!key) return undefined;
    const user = await this.users.get(key.userId);
    if (user) this.versions.note(user.id, user);
    return user ? { key, user } : undefined;
  }

  private async loadToken(token: string): Promise<UserRecord | undefined> {
    const { current, user } = await this.users.findByAccessToken(token);
    if (user) this.versions.note(user.id, user);
    return current;
  }

  /**
   * A current session and its user; one signed in before the last password change is none.
   * The user is read consistently: a session ended before this read began is never current.
   */
  private async loadSession(cookie: string): Promise<SignedIn | undefined> {
    const session = await this.sessions.get(cookie);
    const user = session && (await this.users.get(session.userId, true));
    if (user) this.versions.note(user.id, user);
    if (!session || !user || (user.sessionVersion ?? 0) !== session.version) return undefined;
    return { session, user };
  }
}

interface SignedIn {
  session: SessionRecord;
  user: UserRecord;
}

function missingApiKey(): Unauthenticated {
  return new Unauthenticated(msg("api_key_missing"), "invalid_api_key");
}

function invalidApiKey(masked: string): Unauthenticated {
  return new Unauthenticated(msg("invalid_api_key", { key: masked }), "invalid_api_key");
}

/** A cookie's value from the request's Cookie header. */
export function cookieValue(request: GatewayRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=") || undefined;
  }
  return undefined;
}

function bearer(request: GatewayRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1]?.trim();
}

export function checkKeyUsable({ key, user }: KeyPrincipal, nowSeconds: number): void {
  if (user.status !== "enabled") {
    throw new Unauthenticated(msg("key_account_disabled"), "account_disabled");
  }
  if (key.status === "disabled") {
    throw new Unauthenticated(msg("key_disabled", { key: key.masked }), "key_disabled");
  }
  if (key.status === "expired" || (key.expiredTime !== -1 && key.expiredTime <= nowSeconds)) {
    throw new Unauthenticated(msg("key_expired", { key: key.masked }), "key_expired");
  }
  if (key.status === "exhausted" || (!key.unlimitedQuota && key.remainQuota <= 0)) {
    throw new Unauthenticated(msg("key_exhausted", { key: key.masked }), "key_exhausted");
  }
}
