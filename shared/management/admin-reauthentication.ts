import type { UserPrincipal } from "../auth/authenticate";
import { type ConfirmedIdentity, confirmIdentity } from "../auth/confirm-identity";
import type { Call } from "../http/route";
import { field } from "./envelope";

/** The body field an admin's current password is sent in (`password` is often the new one's). */
export const CURRENT_PASSWORD = "current_password";

/**
 * Proof that a caller from a console session is the account's owner, before a change that makes
 * a credential able to outlive the next password change: an admin's new user (answered with
 * their access token), a user made an admin, a password reset, a key for another user. The
 * same rule as minting an access token: the current password (`current_password`, a counted
 * sign-in attempt), or a session that signed in within SLUICE_RECENT_SIGN_IN_SECONDS; else 403
 * `reauthentication_required`, and the console asks for the password and sends the call again.
 * A stolen session then cannot leave its thief a way back in.
 *
 * An access token is not asked: it was made with the password (or just after signing in), it
 * dies with the password, and the CLI and scripts that hold it would otherwise have to hold
 * the password too.
 */
export async function reauthenticateSession(
  call: Call<UserPrincipal>,
  body: Record<string, unknown>,
): Promise<void> {
  if (call.principal.session) await reauthenticate(call, body);
}

/**
 * The same proof from any caller, an access token too (which has no sign-in of its own, so it
 * sends the password): for a change that a password change cannot undo. A new e-mail address
 * is one: reset links go to it, so whoever sets their own address holds the account past any
 * password change. Returns the session version the proof holds at, for the change to be
 * conditional on (a password change that lands in between refuses it).
 */
export function reauthenticate(
  call: Call<UserPrincipal>,
  body: Record<string, unknown>,
): Promise<ConfirmedIdentity> {
  const { principal, services } = call;
  return confirmIdentity(
    services.users,
    principal,
    field.string(body, CURRENT_PASSWORD, { max: 1024 }),
    {
      recentSignInSeconds: services.settings.console.recentSignInSeconds,
      nowSeconds: services.clock.seconds(),
      attempts: services.attempts,
      sourceIp: call.request.sourceIp,
      passwordField: CURRENT_PASSWORD,
    },
  );
}
