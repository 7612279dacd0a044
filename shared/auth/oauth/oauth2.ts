import { Unauthenticated } from "../../errors";
import { msg } from "../../messages/codes";
import type { UpstreamFetch } from "../../relay/upstream";

/**
 * The small OAuth2 client GitHub and LinuxDO need (neither speaks OpenID Connect): the
 * authorization URL with PKCE S256, the code exchange, and bearer calls for the profile. OIDC
 * providers go through openid-client instead (oidc.ts), which also checks the id_token.
 */

/** Who a provider says the user is, after the exchange. */
export interface ProviderIdentity {
  provider: string;
  /** The provider's immutable id of the account (GitHub's numeric id, OIDC iss + sub). */
  subject: string;
  /** A name to show and to suggest as a username (logins change: never a key). */
  login: string;
  /** An address the provider says is the user's and verified; only then is it set. */
  verifiedEmail?: string;
}

export interface OAuth2Client {
  provider: string;
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** GitHub takes the secret in the form; LinuxDO (RFC 6749 §2.3.1's default) by HTTP Basic. */
  clientAuth: "body" | "basic";
  scope: string;
}

/** The URL the browser is sent to, with state and the PKCE challenge. */
export function authorizationUrl(
  client: OAuth2Client,
  redirectUri: string,
  state: string,
  challenge: string,
): string {
  const url = new URL(client.authorizeUrl);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", client.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("scope", client.scope);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", challenge);
  url.searchParams.set("code_challenge_method", "S256");
  return url.toString();
}

/** The access token a code is worth; refused (oauth_failed) when the provider says no. */
export async function exchangeCode(
  fetch: UpstreamFetch,
  client: OAuth2Client,
  code: string,
  redirectUri: string,
  verifier: string,
): Promise<string> {
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
  const headers: Record<string, string> = {
    accept: "application/json",
    "content-type": "application/x-www-form-urlencoded",
  };
  if (client.clientAuth === "basic") {
    const user = encodeURIComponent(client.clientId);
    const secret = encodeURIComponent(client.clientSecret);
    headers.authorization = `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
  } else {
    form.set("client_id", client.clientId);
    form.set("client_secret", client.clientSecret);
  }
  const answer = await callJson(fetch, client, client.tokenUrl, {
    method: "POST",
    headers,
    body: form.toString(),
  });
  // GitHub answers a bad code with 200 and {error: "bad_verification_code"}.
  const token = (answer as { access_token?: unknown }).access_token;
  if (typeof token !== "string" || token === "") throw failed(client.provider);
  return token;
}

/** A GET of the provider's API with the user's access token, as JSON. */
export function bearerJson(
  fetch: UpstreamFetch,
  client: Pick<OAuth2Client, "provider">,
  url: string,
  accessToken: string,
): Promise<unknown> {
  return callJson(fetch, client, url, {
    method: "GET",
    headers: {
      accept: "application/json",
      authorization: `Bearer ${accessToken}`,
      // GitHub refuses calls without one.
      "user-agent": "sluice",
    },
  });
}

async function callJson(
  fetch: UpstreamFetch,
  client: Pick<OAuth2Client, "provider">,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
): Promise<unknown> {
  let text: string;
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    text = await response.text();
    if (response.status >= 400) throw failed(client.provider);
  } catch (err) {
    if (err instanceof Unauthenticated) throw err;
    throw failed(client.provider, err);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object") throw new Error("not an object");
    return parsed;
  } catch (err) {
    throw failed(client.provider, err);
  }
}

export function failed(provider: string, cause?: unknown): Unauthenticated {
  const error = new Unauthenticated(msg("oauth_failed", { provider }), "oauth_failed");
  if (cause !== undefined) error.cause = cause;
  return error;
}
