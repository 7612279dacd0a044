import { TtlCache } from "../cache";
import { ApiError, invalidApiKey, missingApiKey } from "../http/errors";
import type { GatewayRequest } from "../http/types";
import type { ApiKeyRecord, ApiKeys } from "../store/api-keys";
import type { UserRecord, Users } from "../store/users";
import { hashSecret, maskSecret } from "./secrets";

/** Who is calling /v1/*: an `sk-` key and the user it belongs to. */
export interface KeyPrincipal {
  key: ApiKeyRecord;
  user: UserRecord;
}

/** Who is calling /api/*: a user, through their system access token. */
export interface UserPrincipal {
  user: UserRecord;
}

export class Authenticator {
  private readonly keys: TtlCache<string, KeyPrincipal | undefined>;

  constructor(
    private readonly apiKeys: ApiKeys,
    private readonly users: Users,
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

  /** Resolves `Authorization: Bearer <system access token>` on /api/*. */
  async accessToken(request: GatewayRequest): Promise<UserPrincipal> {
    const token = bearer(request);
    if (!token) {
      throw new ApiError(
        401,
        "Sign in with your system access token: Authorization: Bearer <token>.",
      );
    }
    if (token.startsWith("sk-")) {
      throw new ApiError(
        401,
        "API keys (sk-…) work on /v1 only. The management API takes your system access token.",
      );
    }
    const user = await this.users.findByAccessToken(token);
    if (!user) throw new ApiError(401, "The system access token is not valid.");
    if (user.status !== "enabled") throw new ApiError(403, "This account is disabled.");
    return { user };
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

function bearer(request: GatewayRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1]?.trim();
}

export function checkKeyUsable({ key, user }: KeyPrincipal, nowSeconds: number): void {
  if (user.status !== "enabled") {
    throw new ApiError(
      401,
      "The account this API key belongs to is disabled.",
      "invalid_request_error",
      "account_disabled",
    );
  }
  if (key.status === "disabled") {
    throw new ApiError(
      401,
      `The API key ${key.masked} is disabled.`,
      "invalid_request_error",
      "key_disabled",
    );
  }
  if (key.status === "expired" || (key.expiredTime !== -1 && key.expiredTime <= nowSeconds)) {
    throw new ApiError(
      401,
      `The API key ${key.masked} has expired.`,
      "invalid_request_error",
      "key_expired",
    );
  }
  if (key.status === "exhausted" || (!key.unlimitedQuota && key.remainQuota <= 0)) {
    throw new ApiError(
      401,
      `The API key ${key.masked} has used up its quota. Raise its remaining quota or use another key.`,
      "invalid_request_error",
      "key_exhausted",
    );
  }
}
