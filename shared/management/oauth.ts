import { cookieValue } from "../auth/authenticate";
import { confirmIdentity } from "../auth/confirm-identity";
import { githubClient, githubIdentity } from "../auth/oauth/github";
import { resolveSignIn } from "../auth/oauth/linking";
import { linuxdoClient, linuxdoIdentity } from "../auth/oauth/linuxdo";
import { authorizationUrl, failed, type ProviderIdentity } from "../auth/oauth/oauth2";
import { oidcAuthorizationUrl, oidcIdentity } from "../auth/oauth/oidc";
import {
  newStateValues,
  OAUTH_COOKIE,
  OAUTH_STATE_SECONDS,
  type OAuthState,
  openState,
  pkceChallenge,
  sealState,
  stateCookie,
} from "../auth/oauth/state-cookie";
import { DomainError, Forbidden, NotFound, Unauthenticated } from "../errors";
import { type Call, publicRoute, userRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { identityLinkedMail, mailLanguage } from "../mail/templates";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import { oauthGithub } from "../site/sections/oauth-github";
import { oauthLinuxdo } from "../site/sections/oauth-linuxdo";
import { oauthOidc } from "../site/sections/oauth-oidc";
import { sessionCookie } from "./account";
import { ok } from "./envelope";
import { mailAfterResponse, SITE_NAME } from "./mail-context";
import { trialOffer } from "./trial-credit";

/**
 * Sign-in with GitHub, LINUX DO and an OpenID Connect provider (docs/design/open-for-business.md
 * §5.2). `start` seals the sign-in's state, nonce and PKCE verifier into a cookie and sends the
 * browser to the provider; `callback` checks the cookie against the provider's answer, reads
 * who the user is there, and signs them in (shared/auth/oauth/linking.ts decides whom). The
 * callback URL is built from SLUICE_PUBLIC_ORIGIN, never from the request's Host header.
 */

const PROVIDERS = ["github", "linuxdo", "oidc"] as const;
type ProviderName = (typeof PROVIDERS)[number];

/** What the cookie is sealed under (derived from the server's secret). */
const COOKIE_KEY_PURPOSE = "sluice-oauth-state-cookie";

/** GET /api/oauth/{provider}/start?intent=login|link&lang= : 302 to the provider. */
export const startOAuth = publicRoute(
  "GET",
  "/api/oauth/:provider/start",
  "one-api",
  async (call) => {
    const { services } = call;
    const provider = providerName(call.params.provider);
    const intent = call.request.query.get("intent") === "link" ? "link" : "login";
    // Linking is for the signed-in user: their session (a top-level navigation from the console
    // is same-site, so the Strict cookie comes with it).
    const link = intent === "link" ? await linkingUser(call) : undefined;
    if (link === "sign_in_again") return redirect("/#/settings?error=link_sign_in_again", []);
    const origin = publicOrigin(services);
    const values = newStateValues();
    const state: OAuthState = {
      provider,
      ...values,
      intent,
      ...link,
      lang: call.request.query.get("lang")?.slice(0, 8) ?? undefined,
      exp: services.clock.seconds() + OAUTH_STATE_SECONDS,
    };
    const redirectUri = callbackUrl(origin, provider);
    const challenge = pkceChallenge(values.verifier);
    let location: string;
    if (provider === "oidc") {
      location = await oidcAuthorizationUrl(await oidcConfig(services), {
        redirectUri,
        state: values.state,
        nonce: values.nonce,
        challenge,
      });
    } else {
      location = authorizationUrl(
        await oauth2Client(services, provider),
        redirectUri,
        values.state,
        challenge,
      );
    }
    const key = await services.tags.derivedKey(COOKIE_KEY_PURPOSE);
    return {
      status: 302,
      headers: { location, "cache-control": "no-store" },
      body: "",
      cookies: [
        stateCookie(
          sealState(state, key),
          OAUTH_STATE_SECONDS,
          services.settings.console.secureCookies,
        ),
      ],
    };
  },
);

/**
 * GET /api/oauth/{provider}/callback?code&state: 303 to the console, signed in (or to
 * `/#/login?error=<code>`, for the console to word in the reader's language).
 */
export const oauthCallback = publicRoute(
  "GET",
  "/api/oauth/:provider/callback",
  "one-api",
  async (call) => {
    const { services } = call;
    const secure = services.settings.console.secureCookies;
    // The state is good for one callback: its cookie is cleared whatever happens.
    const clear = stateCookie("", 0, secure);
    let state: OAuthState | undefined;
    try {
      const provider = providerName(call.params.provider);
      state = await checkedState(call, provider);
      if (state.intent === "link") await stillLinking(services, state);
      const identity = await readIdentity(call, provider, state);
      const outcome = await resolveSignIn(services, identity, state, {
        sourceIp: call.request.sourceIp,
        // No Turnstile widget on the way in: under `turnstile` the offer waits for approval.
        trialOffer: (site, emailVerified) =>
          trialOffer(services, site, call.request.id, { checked: false, emailVerified }),
      });
      if (outcome.how === "linked" || outcome.how === "linked_by_email")
        mailLinked(call, outcome.userId, identity);
      if (outcome.how === "linked") return redirect("/#/settings", [clear]);
      const user = await services.users.get(outcome.userId, true);
      if (user?.status !== "enabled") throw new Forbidden(msg("account_disabled"));
      const lifetime = services.settings.console.sessionTtlSeconds;
      const { token } = await services.sessions.create(user.id, user.sessionVersion ?? 0, lifetime);
      return redirect("/#/dashboard", [clear, sessionCookie(services, token, lifetime)]);
    } catch (err) {
      const code = err instanceof DomainError && err.code ? err.code : "oauth_failed";
      services.log.warn("OAuth sign-in refused", {
        provider: call.params.provider,
        code,
        error: err instanceof Error ? err.message : String(err),
        cause: err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined,
      });
      const page = state?.intent === "link" ? "/#/settings" : "/#/login";
      // The code and its params, for the console to word in the reader's language.
      const query = new URLSearchParams({ error: code });
      const params = err instanceof DomainError ? err.params : { provider: call.params.provider };
      for (const [name, value] of Object.entries(params ?? {}))
        if (typeof value === "string" || typeof value === "number") query.set(name, String(value));
      return redirect(`${page}?${query}`, [clear]);
    }
  },
);

/**
 * Who a link is for: the signed-in user, proven as a credential's change is
 * (auth/confirm-identity.ts) — a session that signed in within SLUICE_RECENT_SIGN_IN_SECONDS;
 * a navigation has no password to send, so an older one is sent to sign in again. A stolen
 * session thus cannot link its thief's own account and keep a way in past a password change.
 */
async function linkingUser(
  call: Call<undefined>,
): Promise<Pick<OAuthState, "userId" | "sessionVersion"> | "sign_in_again"> {
  const { services } = call;
  const principal = await services.auth.user(call.request);
  try {
    const { user, sessionVersion } = await confirmIdentity(services.users, principal, undefined, {
      recentSignInSeconds: services.settings.console.recentSignInSeconds,
      nowSeconds: services.clock.seconds(),
      attempts: services.attempts,
      sourceIp: call.request.sourceIp,
    });
    return { userId: user.id, sessionVersion };
  } catch (err) {
    if (err instanceof Forbidden) return "sign_in_again";
    throw err;
  }
}

/** How a provider is named in mail. */
const PROVIDER_NAMES: Record<ProviderName, string> = {
  github: "GitHub",
  linuxdo: "LINUX DO",
  oidc: "OpenID Connect",
};

/**
 * Tells the owner, at their verified address and after the answer, that an outside sign-in
 * was linked to their account: a link made by a stolen session outlives the password change,
 * so they learn of it and where to unlink it.
 */
function mailLinked(call: Call<undefined>, userId: string, identity: ProviderIdentity): void {
  const { services } = call;
  if (!services.mailer.enabled) return;
  mailAfterResponse(call, "identity linked", async () => {
    const user = await services.users.get(userId, true);
    if (!user?.email || !user.emailVerified) return undefined;
    return identityLinkedMail({
      to: user.email,
      lang: mailLanguage(user.lang),
      site: SITE_NAME,
      provider: PROVIDER_NAMES[identity.provider as ProviderName] ?? identity.provider,
      login: identity.login,
      url: `${publicOrigin(services)}/#/settings`,
    });
  });
}

/** A link started before a password change (or for a user disabled since) goes no further. */
async function stillLinking(services: Services, state: OAuthState): Promise<void> {
  const user = state.userId ? await services.users.get(state.userId, true) : undefined;
  if (user?.status !== "enabled" || (user.sessionVersion ?? 0) !== state.sessionVersion)
    throw new Forbidden(msg("link_sign_in_again"));
}

/** GET /api/user/identities: the caller's linked sign-ins. */
export const listIdentities = userRoute("GET", "/api/user/identities", async (call) => {
  const linked = await call.services.identities.list(call.principal.user.id);
  return ok(linked.map(({ provider, login, at }) => ({ provider, login, linked_at: at })));
});

/**
 * DELETE /api/user/identities/{provider}: unlinks it, unless it is the account's only way to
 * sign in (no password and no other identity).
 */
export const unlinkIdentity = userRoute(
  "DELETE",
  "/api/user/identities/:provider",
  async (call) => {
    const { services, principal } = call;
    const provider = call.params.provider as string;
    const [user, linked] = await Promise.all([
      services.users.get(principal.user.id, true),
      services.identities.list(principal.user.id),
    ]);
    if (!linked.some((identity) => identity.provider === provider))
      throw new NotFound(msg("identity_unknown", { provider }));
    if (!user?.passwordHash && linked.length <= 1)
      throw new Forbidden(msg("identity_last_sign_in"));
    if (!(await services.identities.unlink(principal.user.id, provider)))
      throw new NotFound(msg("identity_unknown", { provider }));
    return ok(null);
  },
);

function providerName(value: string | undefined): ProviderName {
  if (!PROVIDERS.includes(value as ProviderName))
    throw new NotFound(msg("oauth_provider_off", { provider: String(value).slice(0, 32) }));
  return value as ProviderName;
}

function publicOrigin(services: Services): string {
  const origin = services.settings.edge.publicOrigin;
  if (!origin) throw new Forbidden(msg("oauth_origin_unset"));
  return origin;
}

function callbackUrl(origin: string, provider: ProviderName): string {
  return `${origin}/api/oauth/${provider}/callback`;
}

/** The cookie's state, if it was sealed here, is for this provider, and matches `state`. */
async function checkedState(call: Call<undefined>, provider: ProviderName): Promise<OAuthState> {
  const { services, request } = call;
  const sealed = cookieValue(request, OAUTH_COOKIE);
  const key = await services.tags.derivedKey(COOKIE_KEY_PURPOSE);
  const state = sealed ? openState(sealed, key, services.clock.seconds()) : undefined;
  const echoed = request.query.get("state");
  if (!state || state.provider !== provider || !echoed || echoed !== state.state)
    throw new Unauthenticated(msg("oauth_state_invalid"));
  return state;
}

async function readIdentity(
  call: Call<undefined>,
  provider: ProviderName,
  state: OAuthState,
): Promise<ProviderIdentity> {
  const { services, request } = call;
  const origin = publicOrigin(services);
  const redirectUri = callbackUrl(origin, provider);
  if (request.query.get("error")) throw failed(provider);
  if (provider === "oidc") {
    // The URL the provider redirected to, on the configured origin (openid-client checks its
    // query: state, code, iss).
    const url = new URL(redirectUri);
    for (const [name, value] of request.query) url.searchParams.append(name, value);
    return oidcIdentity(await oidcConfig(services), url, state);
  }
  const code = request.query.get("code");
  if (!code) throw failed(provider);
  const client = await oauth2Client(services, provider);
  const { oauth } = services.settings;
  if (provider === "github")
    return githubIdentity(
      services.fetch,
      client,
      oauth.github.api,
      code,
      redirectUri,
      state.verifier,
    );
  const site = await services.siteOptions.get();
  return linuxdoIdentity(
    services.fetch,
    client,
    oauth.linuxdo,
    code,
    redirectUri,
    state.verifier,
    site.of(oauthLinuxdo).minTrustLevel,
  );
}

async function oauth2Client(services: Services, provider: "github" | "linuxdo") {
  const site = await services.siteOptions.get();
  const section = provider === "github" ? oauthGithub : oauthLinuxdo;
  const values = site.of(section);
  const secret = await services.siteOptions.secret(section, "clientSecret");
  if (!values.enabled || !values.clientId || !secret)
    throw new Forbidden(msg("oauth_provider_off", { provider }));
  return provider === "github"
    ? githubClient(services.settings.oauth.github, values.clientId, secret)
    : linuxdoClient(services.settings.oauth.linuxdo, values.clientId, secret);
}

async function oidcConfig(services: Services) {
  const values = (await services.siteOptions.get()).of(oauthOidc);
  const secret = await services.siteOptions.secret(oauthOidc, "clientSecret");
  if (!values.enabled || !values.issuer || !values.clientId || !secret)
    throw new Forbidden(msg("oauth_provider_off", { provider: "oidc" }));
  return { slug: "oidc", issuer: values.issuer, clientId: values.clientId, clientSecret: secret };
}

function redirect(location: string, cookies: string[]): GatewayResponse {
  return { status: 303, headers: { location, "cache-control": "no-store" }, body: "", cookies };
}
