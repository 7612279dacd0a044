import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** The cookie that carries a sign-in's state from its start to the provider's callback. */
export const OAUTH_COOKIE = "sluice_oauth";

/** A started sign-in: what the callback must find, and what it is for. */
export interface OAuthState {
  provider: string;
  /** Echoed by the provider in the callback's `state`: binds the callback to this browser. */
  state: string;
  /** OIDC: must come back in the id_token. */
  nonce: string;
  /** PKCE: the verifier whose S256 challenge went to the provider. */
  verifier: string;
  intent: "login" | "link";
  /** intent link: the signed-in user the identity is for. */
  userId?: string;
  /** intent link: their session version then; a password change since cancels the link. */
  sessionVersion?: number;
  lang?: string;
  /** Unix seconds after which the callback is refused. */
  exp: number;
}

/** How long a started sign-in may take (the cookie's Max-Age). */
export const OAUTH_STATE_SECONDS = 600;

/** Random values for a new sign-in, URL-safe. */
export function newStateValues(): Pick<OAuthState, "state" | "nonce" | "verifier"> {
  const random = () => randomBytes(32).toString("base64url");
  return { state: random(), nonce: random(), verifier: random() };
}

/** PKCE's S256 challenge of a verifier (RFC 7636 §4.2). */
export function pkceChallenge(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

/**
 * The state sealed with AES-256-GCM under `key` (derived from the server's secret): the
 * browser holds it, so no write is made per start, and it can neither read nor change it.
 * Layout: base64url(iv 12 | tag 16 | ciphertext).
 */
export function sealState(state: OAuthState, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(state), "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
}

/**
 * The state a cookie holds; undefined when it was not sealed with `key`, was changed, is not
 * of the shape sealed, or has expired.
 */
export function openState(sealed: string, key: Buffer, nowSeconds: number): OAuthState | undefined {
  const raw = Buffer.from(sealed, "base64url");
  if (raw.length < 29 || raw.length > 4096) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    const state = JSON.parse(plain.toString("utf8")) as OAuthState;
    if (typeof state.exp !== "number" || state.exp <= nowSeconds) return undefined;
    return state;
  } catch {
    return undefined;
  }
}

/**
 * The cookie's header: Path=/api/oauth (sent to the callback only), HttpOnly, SameSite=Lax (the
 * callback is a cross-site top-level GET, which Strict would strip), Secure on HTTPS.
 */
export function stateCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${OAUTH_COOKIE}=${value}; Path=/api/oauth; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}
