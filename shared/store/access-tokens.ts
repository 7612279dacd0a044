import { Conflict } from "../errors";
import { msg } from "../messages/codes";

/** Where a token was made: which of the user's tools holds it. */
export type AccessTokenVia = "console" | "cli" | "admin" | "local" | "api" | "legacy";

/** A named system access token, as the profile keeps it (the secret itself is never stored). */
export interface AccessTokenEntry {
  /** hashSecret of the token: the ACCESS#<hash> item finds the user by it. */
  hash: string;
  /** Unix seconds. */
  createdAt: number;
  via: AccessTokenVia;
  /** The token's last 4 characters, for the owner to tell tokens apart (absent on legacy ones). */
  tail?: string;
}

/** A profile's tokens by name: a name is held by one token, and a new one replaces it. */
export type AccessTokens = Record<string, AccessTokenEntry>;

/** A profile holds this many tokens at most; a new name beyond it is refused. */
export const MAX_ACCESS_TOKENS = 10;

/** The token the console's "generate" makes (POST /api/user/token); only it is replaced there. */
export const CONSOLE_TOKEN = "console";

/** The name a profile's single token of before names is listed under. */
export const LEGACY_TOKEN = "default";

/** A token's name: letters, digits and `_ . @ : -`, up to 64 (`cli@my-laptop.local`). */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$/;

/**
 * The tokens a stored profile holds. A profile of before names has one `accessTokenHash`,
 * read as the token `default`, so no migration is needed: the first write of the map drops it.
 */
export function accessTokensOf(profile: {
  accessTokens?: AccessTokens;
  accessTokenHash?: string;
}): AccessTokens {
  if (profile.accessTokens) return profile.accessTokens;
  if (profile.accessTokenHash)
    return { [LEGACY_TOKEN]: { hash: profile.accessTokenHash, createdAt: 0, via: "legacy" } };
  return {};
}

/** The hashes `before` held that `after` does not: their links are dead. */
export function retiredHashes(before: AccessTokens, after: AccessTokens): string[] {
  const kept = new Set(Object.values(after).map((entry) => entry.hash));
  return Object.values(before)
    .map((entry) => entry.hash)
    .filter((hash) => !kept.has(hash));
}

/** A new name while the profile holds MAX_ACCESS_TOKENS already. */
export class AccessTokenLimitReached extends Conflict {
  constructor() {
    super(msg("access_token_limit", { max: MAX_ACCESS_TOKENS }));
  }
}
