import type { UserPrincipal } from "../auth/authenticate";
import { confirmIdentity } from "../auth/confirm-identity";
import { NotFound } from "../errors";
import { readJsonObject } from "../http/body";
import { requireOwnOrigin } from "../http/cross-site";
import { type Call, publicRoute, userRoute } from "../http/route";
import { msg } from "../messages/codes";
import {
  type AccessTokenVia,
  accessTokensOf,
  CONSOLE_TOKEN,
  TOKEN_NAME,
} from "../store/access-tokens";
import { passwordSignIn } from "./account";
import { field, invalid, ok, saying } from "./envelope";

/**
 * A user's system access tokens, by name (store/access-tokens.ts): the console's `console`,
 * the CLI's `cli@<host>`, `npm start`'s `local-cli`, a script's own. Making one replaces only
 * the token of its name; a password change, a reset or a revocation ends them all.
 */

/**
 * POST /api/user/token {password}: a new `console` token, shown once; the previous `console`
 * token stops working, and the user's other tokens (the CLI's) stay. It takes the current
 * password, or a console session that signed in with it within SLUICE_RECENT_SIGN_IN_SECONDS:
 * a stolen token or an old stolen session cannot make itself a successor. The write is
 * conditional on the sessions' version the proof was checked against, so a token minted while
 * the password changes is refused, never left alive.
 */
export const regenerateAccessToken = userRoute("POST", "/api/user/token", async (call) => {
  // one-api's clients send no body; the console sends the password.
  const body = call.request.body.length === 0 ? {} : readJsonObject(call.request);
  return ok(await mint(call, body, CONSOLE_TOKEN));
});

/** GET /api/user/tokens: the caller's tokens: name, where made, when, and the last 4 characters. */
export const listAccessTokens = userRoute("GET", "/api/user/tokens", async (call) => {
  const user = (await call.services.users.get(call.principal.user.id, true)) ?? call.principal.user;
  const tokens = Object.entries(accessTokensOf(user))
    .map(([name, entry]) => ({
      name,
      via: entry.via,
      created_at: entry.createdAt,
      tail: entry.tail ?? null,
    }))
    .sort((a, b) => a.created_at - b.created_at || a.name.localeCompare(b.name));
  return ok(tokens);
});

/**
 * POST /api/user/tokens {name, password}: a named token, shown once, replacing only the
 * caller's token of that name; the proof of identity is that of POST /api/user/token.
 */
export const createAccessToken = userRoute("POST", "/api/user/tokens", async (call) => {
  const body = readJsonObject(call.request);
  const name = tokenName(body);
  return ok({ name, token: await mint(call, body, name) });
});

/** DELETE /api/user/tokens/{name}: revokes the caller's token of that name, at once. */
export const revokeAccessToken = userRoute("DELETE", "/api/user/tokens/:name", async (call) => {
  const { services, principal } = call;
  const changed = await services.users.revokeAccessToken(
    principal.user.id,
    call.params.name as string,
  );
  if (!changed)
    throw new NotFound(msg("access_token_unknown", { name: call.params.name as string }));
  services.auth.credentialsChanged(principal.user.id, changed);
  return ok(null, saying(msg("access_token_revoked")));
});

/**
 * POST /api/user/tokens/issue {username, password, name}: a named token for a program that
 * signs in with the password (`sluice login`), so it needs no session or CSRF token. It is a
 * sign-in, counted as one before the password is checked (shared/auth/attempt-guard.ts), and
 * a failure says nothing of whether the username exists.
 */
export const issueAccessToken = publicRoute(
  "POST",
  "/api/user/tokens/issue",
  "one-api",
  async (call) => {
    const { services } = call;
    requireOwnOrigin(call.request, services.settings.edge.siteOrigins);
    const body = readJsonObject(call.request);
    const name = tokenName(body);
    const user = await passwordSignIn(call, body);
    const token = await services.tags.issue("accessToken");
    // Conditional on the sessions' version the password was checked under: a password change
    // that lands first refuses this token.
    const changed = await services.users.issueAccessToken(
      user.id,
      { secret: token, name, via: "cli" },
      user.sessionVersion ?? 0,
    );
    services.auth.credentialsChanged(user.id, changed);
    return ok({ name, token, username: user.username, role: user.role });
  },
);

/** A token for the caller under `name`, once they prove who they are (auth/confirm-identity.ts). */
async function mint(
  call: Call<UserPrincipal>,
  body: Record<string, unknown>,
  name: string,
): Promise<string> {
  const { services, principal } = call;
  const password = field.string(body, "password", { max: 1024 });
  const { user, sessionVersion } = await confirmIdentity(services.users, principal, password, {
    recentSignInSeconds: services.settings.console.recentSignInSeconds,
    nowSeconds: services.clock.seconds(),
    attempts: services.attempts,
    sourceIp: call.request.sourceIp,
  });
  const token = await services.tags.issue("accessToken");
  const via: AccessTokenVia = principal.session ? "console" : "api";
  const changed = await services.users.issueAccessToken(
    user.id,
    { secret: token, name, via },
    sessionVersion,
  );
  services.auth.credentialsChanged(user.id, changed);
  return token;
}

function tokenName(body: Record<string, unknown>): string {
  const name = field.string(body, "name", { required: true, max: 64 }) as string;
  if (!TOKEN_NAME.test(name)) throw invalid(msg("access_token_name_invalid"));
  return name;
}
