import { TtlCache } from "../cache";
import { Forbidden, Unauthenticated } from "../errors";
import type { GatewayRequest } from "../http/types";
import type { ApiKeyRecord, ApiKeys } from "../store/api-keys";
import type { Sessions } from "../store/sessions";
import type { UserRecord, Users } from "../store/users";
import { hashSecret, maskSecret } from "./secrets";

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
  session?: { token: string; csrf: string };
}

/** The console's session cookie. */
export const SESSION_COOKIE = "sluice_session";

export class Authenticator {
  private readonly keys: TtlCache<string, KeyPrincipal | undefined>;

  constructor(
    private readonly apiKeys: ApiKeys,
    private readonly users: Users,
    private readonly sessions: Sessions,
    cacheTtlMs: number,
  ) {
    this.keys = new TtlCache(cacheTtlMs);
  }

  /** Resolves `Authorization: Bearer sk-…` (or Azure-style `api-key: sk-…`). */
  async apiKey(request: GatewayRequest): Promise<KeyPrincipal> {
    const secret = bearer(request) ?? request.headers["api-key"];
    if (!secret) throw missingApiKey();
    if (!secret.startsWith("sk-")) throw invalidApiKey(maskSecret(secret));
    const id = hashSecret(secret);
    const principal = await this.keys.get(id, () => this.loadKey(id));
    if (!principal) throw invalidApiKey(maskSecret(secret));
    checkKeyUsable(principal, Math.floor(Date.now() / 1000));
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
      throw new Unauthenticated(
        "Sign in, or send your system access token: Authorization: Bearer <token>.",
      );
    }
    if (token.startsWith("sk-")) {
      throw new Unauthenticated(
        "API keys (sk-…) work on /v1 only. The management API takes your system access token.",
      );
    }
    const user = await this.users.findByAccessToken(token);
    if (!user) throw new Unauthenticated("The system access token is not valid.");
    if (user.status !== "enabled") throw new Forbidden("This account is disabled.");
    return { user };
  }

  private async session(cookie: string): Promise<UserPrincipal> {
    const session = await this.sessions.get(cookie);
    const user = session && (await this.users.get(session.userId));
    if (!session || !user || (user.sessionVersion ?? 0) !== session.version) {
      throw new Unauthenticated("Your session has ended. Sign in again.", "session_expired");
    }
    if (user.status !== "enabled") throw new Forbidden("This account is disabled.");
    return { user, session: { token: cookie, csrf: session.csrf } };
  }

  /** Forgets a key so the next request re-reads it (after it was changed through the API). */
  forgetKey(id: string): void {
    this.keys.delete(id);
  }

  /** Forgets every cached key, e.g. after a user's status or group changed. */
  forgetAll(): void {
    this.keys.clear();
  }

  private async loadKey(id: string): Promise<KeyPrincipal | undefined> {
    const key = await this.apiKeys.get(id);
    if (!key) return undefined;
    const user = await this.users.get(key.userId);
    return user ? { key, user } : undefined;
  }
}

function missingApiKey(): Unauthenticated {
  return new Unauthenticated(
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    "invalid_api_key",
  );
}

function invalidApiKey(masked: string): Unauthenticated {
  return new Unauthenticated(
    `Incorrect API key provided: ${masked}. Check the key or ask your sluice administrator for a new one.`,
    "invalid_api_key",
  );
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
    throw new Unauthenticated(
      "The account this API key belongs to is disabled.",
      "account_disabled",
    );
  }
  if (key.status === "disabled") {
    throw new Unauthenticated(`The API key ${key.masked} is disabled.`, "key_disabled");
  }
  if (key.status === "expired" || (key.expiredTime !== -1 && key.expiredTime <= nowSeconds)) {
    throw new Unauthenticated(`The API key ${key.masked} has expired.`, "key_expired");
  }
  if (key.status === "exhausted" || (!key.unlimitedQuota && key.remainQuota <= 0)) {
    throw new Unauthenticated(
      `The API key ${key.masked} has used up its quota. Raise its remaining quota or use another key.`,
      "key_exhausted",
    );
  }
}
