import type { UpstreamFetch } from "../../relay/upstream";
import {
  bearerJson,
  exchangeCode,
  failed,
  type OAuth2Client,
  type ProviderIdentity,
} from "./oauth2";

/**
 * GitHub's OAuth app flow: the account is its numeric `id` (logins change; new-api keeps the
 * login only as a legacy id), and the address for linking is the `primary && verified` entry of
 * /user/emails, never /user's `email` (the public profile's, which need not be verified).
 */
export function githubClient(
  bases: { web: string; api: string },
  clientId: string,
  clientSecret: string,
): OAuth2Client {
  return {
    provider: "github",
    authorizeUrl: `${bases.web}/login/oauth/authorize`,
    tokenUrl: `${bases.web}/login/oauth/access_token`,
    clientId,
    clientSecret,
    clientAuth: "body",
    scope: "read:user user:email",
  };
}

export async function githubIdentity(
  fetch: UpstreamFetch,
  client: OAuth2Client,
  api: string,
  code: string,
  redirectUri: string,
  verifier: string,
): Promise<ProviderIdentity> {
  const token = await exchangeCode(fetch, client, code, redirectUri, verifier);
  const [user, emails] = await Promise.all([
    bearerJson(fetch, client, `${api}/user`, token),
    bearerJson(fetch, client, `${api}/user/emails`, token).catch(() => []),
  ]);
  const { id, login } = user as { id?: unknown; login?: unknown };
  if (typeof id !== "number" || !Number.isSafeInteger(id)) throw failed("github");
  const primary = Array.isArray(emails)
    ? (emails as { email?: unknown; primary?: unknown; verified?: unknown }[]).find(
        (entry) => entry.primary === true && entry.verified === true,
      )
    : undefined;
  return {
    provider: "github",
    subject: String(id),
    login: typeof login === "string" ? login : `github${id}`,
    ...(typeof primary?.email === "string" ? { verifiedEmail: primary.email } : {}),
  };
}
