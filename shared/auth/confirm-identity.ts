import { Forbidden } from "../errors";
import { msg } from "../messages/codes";
import { StaleCredentials, type UserRecord, type Users } from "../store/users";
import type { AttemptGuard } from "./attempt-guard";
import type { UserPrincipal } from "./authenticate";
import { verifyPassword } from "./passwords";

/** The user, read afresh, and the session version a credential write is made conditional on. */
export interface ConfirmedIdentity {
  user: UserRecord;
  sessionVersion: number;
}

/**
 * Proof that the caller is the account's owner now, before a credential is made or changed:
 * the current password, or (when `recentSignInSeconds` > 0) a console session that signed in
 * with it that recently. A session or token alone is not enough, so that a stolen one cannot
 * make itself a credential that outlives the next password change. The version returned is
 * the one the proof was checked against: a write conditional on it loses to a password change
 * or revocation that landed since.
 *
 * A password check here is a sign-in attempt of the account's username from the caller's
 * address, counted before it is made (`attempts`): whoever holds a stolen session or token
 * may guess the password no faster here than at the sign-in form.
 */
export async function confirmIdentity(
  users: Users,
  principal: UserPrincipal,
  password: string | undefined,
  options: {
    recentSignInSeconds: number;
    nowSeconds: number;
    attempts: AttemptGuard;
    sourceIp: string | undefined;
    /** The body field the password is sent in (named in the refusal). */
    passwordField?: string;
  },
): Promise<ConfirmedIdentity> {
  // Not the cached principal's record: the password and versions may have changed since.
  const user = await users.get(principal.user.id, true);
  if (!user) throw new StaleCredentials();
  const current = user.sessionVersion ?? 0;
  if (password !== undefined) {
    const attempt = await options.attempts.signIn(user.username.toLowerCase(), options.sourceIp);
    if (!user.passwordHash || !(await verifyPassword(password, user.passwordHash)))
      throw new Forbidden(msg("current_password_wrong"));
    await attempt.succeeded();
    return { user, sessionVersion: current };
  }
  const { session } = principal;
  const now = options.nowSeconds;
  if (
    session?.signedInAt !== undefined &&
    options.recentSignInSeconds > 0 &&
    now - session.signedInAt <= options.recentSignInSeconds
  ) {
    if (session.version !== current) throw new StaleCredentials();
    return { user, sessionVersion: session.version };
  }
  if (!user.passwordHash) {
    throw new Forbidden(msg("password_not_set"));
  }
  // The code tells the console to ask for the password and send the call again.
  throw new Forbidden(
    msg("reauthentication_required", {
      field: options.passwordField ?? "password",
      window_seconds: Math.max(0, options.recentSignInSeconds),
      via: session ? "session" : "token",
    }),
    "reauthentication_required",
  );
}
