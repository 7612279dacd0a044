import { Forbidden } from "../../errors";
import { msg } from "../../messages/codes";
import type { UpstreamFetch } from "../../relay/upstream";
import {
  bearerJson,
  exchangeCode,
  failed,
  type OAuth2Client,
  type ProviderIdentity,
} from "./oauth2";

/**
 * LINUX DO Connect (connect.linux.do): plain OAuth2 with HTTP Basic client authentication at
 * the token endpoint, and /api/user for the account (numeric `id`, `username`, `trust_level`,
 * `active`, `silenced`). It sends no e-mail, so an identity of it never links by address.
 */
export function linuxdoClient(base: string, clientId: string, clientSecret: string): OAuth2Client {
  return {
    provider: "linuxdo",
    authorizeUrl: `${base}/oauth2/authorize`,
    tokenUrl: `${base}/oauth2/token`,
    clientId,
    clientSecret,
    clientAuth: "basic",
    scope: "user",
  };
}

export async function linuxdoIdentity(
  fetch: UpstreamFetch,
  client: OAuth2Client,
  base: string,
  code: string,
  redirectUri: string,
  verifier: string,
  minTrustLevel: number,
): Promise<ProviderIdentity> {
  const token = await exchangeCode(fetch, client, code, redirectUri, verifier);
  const user = (await bearerJson(fetch, client, `${base}/api/user`, token)) as {
    id?: unknown;
    username?: unknown;
    trust_level?: unknown;
    active?: unknown;
    silenced?: unknown;
  };
  if (typeof user.id !== "number" || !Number.isSafeInteger(user.id)) throw failed("linuxdo");
  if (user.active === false || user.silenced === true)
    throw new Forbidden(msg("oauth_account_silenced"));
  const level = typeof user.trust_level === "number" ? user.trust_level : 0;
  if (level < minTrustLevel)
    throw new Forbidden(msg("oauth_trust_level_low", { level, min: minTrustLevel }));
  return {
    provider: "linuxdo",
    subject: String(user.id),
    login: typeof user.username === "string" ? user.username : `linuxdo${user.id}`,
  };
}
