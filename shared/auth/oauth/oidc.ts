import { failed, type ProviderIdentity } from "./oauth2";

/**
 * OpenID Connect through openid-client (panva), imported only here and only when an OIDC
 * sign-in starts or returns (a side bundle: infra/side-bundles.ts). It does discovery, PKCE,
 * the code exchange and the id_token's checks: signature against the provider's JWKS, iss,
 * aud, exp, iat, nonce, azp. A provider on the loopback (tests, `npm start`) may be plain HTTP.
 */
type OpenIdClient = typeof import("openid-client");

export interface OidcProvider {
  /** Its slug: the identity's provider name, and the callback's path segment. */
  slug: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
}

interface Discovered {
  client: OpenIdClient;
  config: import("openid-client").Configuration;
  at: number;
}

/** Discovery is read once an hour per instance and provider. */
const DISCOVERY_TTL_MS = 3_600_000;
const discovered = new Map<string, Promise<Discovered>>();

async function configuration(provider: OidcProvider, nowMs: number): Promise<Discovered> {
  const key = `${provider.issuer}\n${provider.clientId}\n${provider.clientSecret}`;
  const cached = discovered.get(key);
  if (cached) {
    const found = await cached.catch(() => undefined);
    if (found && nowMs - found.at < DISCOVERY_TTL_MS) return found;
  }
  const loading = (async () => {
    const client = await import("openid-client");
    const issuer = new URL(provider.issuer);
    const config = await client.discovery(
      issuer,
      provider.clientId,
      provider.clientSecret,
      undefined,
      {
        // openid-client leaves the token endpoint's id_token unsigned-checked by default (TLS
        // vouches for the issuer, OIDC Core 3.1.3.7); sluice checks its signature all the same.
        execute: [
          client.enableNonRepudiationChecks,
          ...(isLoopback(issuer) ? [client.allowInsecureRequests] : []),
        ],
      },
    );
    return { client, config, at: nowMs };
  })();
  discovered.set(key, loading);
  loading.catch(() => discovered.delete(key));
  return loading;
}

function isLoopback(url: URL): boolean {
  return url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
}

/** The provider's authorization URL for this sign-in. */
export async function oidcAuthorizationUrl(
  provider: OidcProvider,
  values: { redirectUri: string; state: string; nonce: string; challenge: string },
  nowMs = Date.now(),
): Promise<string> {
  let found: Discovered;
  try {
    found = await configuration(provider, nowMs);
  } catch (err) {
    throw failed(provider.slug, err);
  }
  return found.client
    .buildAuthorizationUrl(found.config, {
      redirect_uri: values.redirectUri,
      scope: "openid email profile",
      state: values.state,
      nonce: values.nonce,
      code_challenge: values.challenge,
      code_challenge_method: "S256",
    })
    .toString();
}

/**
 * The identity of a callback (`callbackUrl`: the URL the provider redirected to, with its
 * query), once openid-client has checked state, the code's exchange and the id_token.
 */
export async function oidcIdentity(
  provider: OidcProvider,
  callbackUrl: URL,
  expected: { state: string; nonce: string; verifier: string },
  nowMs = Date.now(),
): Promise<ProviderIdentity> {
  try {
    const { client, config } = await configuration(provider, nowMs);
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: expected.verifier,
      expectedState: expected.state,
      expectedNonce: expected.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims?.sub) throw new Error("no id_token claims");
    const email = typeof claims.email === "string" ? claims.email : undefined;
    const login =
      [claims.preferred_username, claims.nickname, claims.name, email?.split("@")[0]].find(
        (value): value is string => typeof value === "string" && value !== "",
      ) ?? `${provider.slug}user`;
    return {
      provider: provider.slug,
      // The issuer is part of the subject: a sub is unique only within its issuer.
      subject: `${claims.iss} ${claims.sub}`,
      login,
      ...(email && claims.email_verified === true ? { verifiedEmail: email } : {}),
    };
  } catch (err) {
    throw failed(provider.slug, err);
  }
}
