import { cookieValue, SESSION_COOKIE } from "../auth/authenticate";
import { confirmIdentity } from "../auth/confirm-identity";
import { hashPassword, verifyDecoy, verifyPassword } from "../auth/passwords";
import { unitsToDollars } from "../billing/units";
import { Forbidden, Unauthenticated } from "../errors";
import { readJsonObject } from "../http/body";
import { requireOwnOrigin } from "../http/cross-site";
import { type Call, publicRoute, userRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { mailLanguage } from "../mail/templates";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import { mail } from "../site/sections/mail";
import { registrationLimits } from "../site/sections/registration-limits";
import type { UserRecord } from "../store/users";
import { field, invalid, newPassword, ok } from "./envelope";
import { isRedemptionCode, redeemCode } from "./redemptions";
import { createAccount } from "./sign-up";
import { proveEmail } from "./verification";
import { keysToReview, userView } from "./views";

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * POST /api/user/register: a new account, when the site's registration is open, or by
 * invitation with an unused redemption code (which also credits its quota). It is offered the
 * site's free quota, granted once it passes the site's check (management/trial-credit.ts).
 */
export const register = publicRoute("POST", "/api/user/register", "one-api", async (call) => {
  const { services } = call;
  requireOwnOrigin(call.request, services.settings.edge.siteOrigins);
  // What can be refused without a write is refused before anything is counted.
  const body = readJsonObject(call.request);
  const username = field.string(body, "username", { required: true, max: 32 }) as string;
  const password = newPassword(body, "password");
  const email = field.string(body, "email", { max: 254 });
  if (!USERNAME.test(username)) throw invalid(msg("username_invalid"));
  if (email !== undefined && email !== "" && !EMAIL.test(email))
    throw invalid(msg("email_invalid"));
  const options = await services.siteOptions.get();
  if (options.values.registration.mode === "closed") {
    throw new Forbidden(msg("registration_closed"));
  }
  const code = field.string(body, "invitation_code", { max: 128 });
  if (options.values.registration.mode === "invitation" && !code)
    throw invalid(msg("invitation_code_required"));
  // Stream e-mail: a code proves the address (required when the site says so).
  const verification = field.string(body, "verification_code", { max: 16 });
  const { verification: emailCheck } = options.of(mail);
  if (emailCheck === "required" && !email) throw invalid(msg("verification_email_required"));
  if (emailCheck === "required" && !verification) throw invalid(msg("verification_code_required"));
  await services.attempts.registration(
    call.request.sourceIp,
    undefined,
    options.of(registrationLimits),
  );
  return createAccount(
    call,
    { body, username, password, email, options, code },
    {
      affCode: field.string(body, "aff_code", { max: 64 }) || undefined,
      ...(verification
        ? {
            verifyEmail: (address: string) =>
              proveEmail(services, address, verification).then(() => true),
          }
        : {}),
    },
  );
});

/**
 * POST /api/user/login: checks the password and starts a session (an HttpOnly, SameSite
 * cookie). Every attempt is counted before the password is checked, for names that exist or
 * not alike (shared/auth/attempt-guard.ts); a failure says nothing of whether the username
 * exists, and takes as long.
 */
export const login = publicRoute("POST", "/api/user/login", "one-api", async (call) => {
  requireOwnOrigin(call.request, call.services.settings.edge.siteOrigins);
  const user = await passwordSignIn(call, readJsonObject(call.request));
  return signedIn(call, user);
});

/**
 * The user whose `username` and `password` the body gives, for every route that signs in with
 * a password (a session here, a named access token in access-tokens.ts). The attempt is counted
 * before the password is checked; a failure says nothing of whether the username exists, and
 * takes as long (a decoy hash for a name that has none).
 */
export async function passwordSignIn(
  call: Call,
  body: Record<string, unknown>,
): Promise<UserRecord> {
  const { services } = call;
  const username = (
    field.string(body, "username", { required: true, max: 64 }) as string
  ).toLowerCase();
  const password = field.string(body, "password", { required: true, max: 1024 }) as string;
  const attempt = await services.attempts.signIn(username, call.request.sourceIp);
  const user = await services.users.findByUsername(username);
  const matches = user?.passwordHash
    ? await verifyPassword(password, user.passwordHash)
    : await verifyDecoy(password, services.settings.console.passwordCost);
  if (!user || !matches || user.status !== "enabled")
    throw new Unauthenticated(msg("sign_in_failed"), "sign_in_failed");
  await attempt.succeeded();
  return user;
}

/** GET /api/user/logout: ends the session and clears its cookie. */
export const logout = publicRoute("GET", "/api/user/logout", "one-api", async (call) => {
  const token = cookieValue(call.request, SESSION_COOKIE);
  if (token) {
    await call.services.sessions.delete(token);
    call.services.auth.forgetSession(token);
  }
  return { ...ok(), cookies: [sessionCookie(call.services, "", 0)] };
});

/**
 * GET /api/user/self: the user's profile and balances (and the session's CSRF token), read
 * afresh: the principal may come from the cache, from before the last calls were settled.
 */
export const getSelf = userRoute("GET", "/api/user/self", async (call) => {
  const user = (await call.services.users.get(call.principal.user.id)) ?? call.principal.user;
  return ok({ ...userView(user), csrf_token: call.principal.session?.csrf });
});

/**
 * PUT /api/user/self: changes the password (the current one is asked for), or the display
 * name and email. A new password ends every session (this browser gets a new one) and
 * revokes every system access token (new ones are made in Settings, or by `sluice login`). The
 * answer also lists the keys made since the password was last set, for the owner to check
 * that an intruder made none (they are not deleted: apps use them).
 */
export const updateSelf = userRoute("PUT", "/api/user/self", async (call) => {
  const { services, principal } = call;
  const body = readJsonObject(call.request);
  const name = field.string(body, "name", { max: 64 });
  const email = field.string(body, "email", { max: 254 });
  if (email !== undefined && email !== "" && !EMAIL.test(email))
    throw invalid(msg("email_invalid"));
  const lang = field.string(body, "lang", { max: 16 });
  if (name !== undefined || email !== undefined || lang !== undefined) {
    await services.users.update(principal.user.id, { name });
    // Stream e-mail: an address set here is not verified (Settings proves one by its code:
    // POST /api/user/email); the verified one it replaces is given up.
    const current = (await services.users.get(principal.user.id, true)) ?? principal.user;
    if (email !== undefined && email.toLowerCase() !== (current.email ?? "").toLowerCase())
      await services.users.changeEmail(current.id, email, { verified: false, previous: current });
    if (lang !== undefined) await services.users.setLang(current.id, mailLanguage(lang));
    services.auth.forgetAll();
  }
  if (body.new_password === undefined) {
    const user = await services.users.get(principal.user.id, true);
    return ok(user && userView(user));
  }
  const current = field.string(body, "password", { required: true, max: 1024 }) as string;
  const next = newPassword(body, "new_password");
  // The current password always: a recent sign-in is not enough to change it.
  const { user: before, sessionVersion } = await confirmIdentity(
    services.users,
    principal,
    current,
    {
      recentSignInSeconds: 0,
      nowSeconds: services.clock.seconds(),
      attempts: services.attempts,
      sourceIp: call.request.sourceIp,
    },
  );
  // Every access token is revoked, and none handed out here: whoever changes a password
  // because it leaked wants no token of before alive, and the console and CLI make new ones.
  const changed = await services.users.changeCredentials(before.id, {
    passwordHash: await hashPassword(next, services.settings.console.passwordCost),
    ifSessionVersion: sessionVersion,
  });
  services.auth.credentialsChanged(before.id, changed);
  services.auth.forgetAll();
  if (principal.session) await services.sessions.delete(principal.session.token);
  const [user, keys] = await Promise.all([
    services.users.get(before.id, true),
    services.apiKeys.listByUser(before.id),
  ]);
  if (!user) throw new Error(`user ${before.id} vanished`);
  const changes = {
    sessions_ended: true,
    access_token_revoked: true,
    keys_to_review: keysToReview(before, keys),
  };
  const message =
    "Password changed. Every other session has ended and every system access token is revoked: make new ones in Settings (`sluice login` for the CLI). Check the keys made since the password was last set (keys_to_review).";
  return principal.session
    ? signedIn(call, user, changes, message)
    : ok({ ...userView(user), ...changes }, { message });
});

/**
 * POST /api/user/topup {key}: redeems a code into its bucket, once: of any number of
 * redemptions of one code at once, one wins. A code of the wrong shape is refused before
 * anything is written; the others are counted per user and per address before the code is
 * looked up, and only failures stay counted.
 */
export const redeem = userRoute("POST", "/api/user/topup", async (call) => {
  const body = readJsonObject(call.request);
  const code = redemptionCode(field.string(body, "key", { required: true, max: 128 }) as string);
  const attempt = await call.services.attempts.redemption(
    call.principal.user.id,
    call.request.sourceIp,
  );
  const redemption = await redeemCode(call.services, call.principal.user.id, code, call.request.id);
  await attempt.succeeded();
  const user = await call.services.users.get(call.principal.user.id, true);
  return ok({
    quota: redemption.quota,
    quota_dollar: unitsToDollars(redemption.quota),
    bucket: redemption.bucket,
    user: user && userView(user),
  });
});

/** A code as generated (shared/management/redemptions.ts), or a 400 that costs no write. */
function redemptionCode(text: string): string {
  const code = text.trim();
  if (!isRedemptionCode(code)) throw invalid(msg("not_a_redemption_code"));
  return code;
}

/**
 * A session for `user`, its cookie, and the user's view with the session's CSRF token (and
 * `extra` fields, and a message).
 */
async function signedIn(
  call: Call<unknown>,
  user: UserRecord,
  extra: Record<string, unknown> = {},
  message = "",
): Promise<GatewayResponse> {
  const { services } = call;
  const lifetime = services.settings.console.sessionTtlSeconds;
  const { token, session } = await services.sessions.create(
    user.id,
    user.sessionVersion ?? 0,
    lifetime,
  );
  return {
    ...ok({ ...userView(user), csrf_token: session.csrf, ...extra }, { message }),
    cookies: [sessionCookie(services, token, lifetime)],
  };
}

export function sessionCookie(services: Services, token: string, maxAgeSeconds: number): string {
  const secure = services.settings.console.secureCookies ? "; Secure" : "";
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
}
