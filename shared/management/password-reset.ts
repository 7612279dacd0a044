import { hashPassword } from "../auth/passwords";
import { InvalidRequest, Unavailable } from "../errors";
import { readJsonObject } from "../http/body";
import { requireOwnOrigin } from "../http/cross-site";
import { type Call, publicRoute } from "../http/route";
import { mailLanguage, resetMail } from "../mail/templates";
import { msg } from "../messages/codes";
import { RESET_TTL_SECONDS } from "../store/reset-tokens";
import { ConditionFailed } from "../store/table";
import { StaleCredentials } from "../store/users";
import { field, newPassword } from "./envelope";
import { mailAfterResponse, publicOrigin, requestLanguage, SITE_NAME, said } from "./mail-context";
import { emailField } from "./verification";

/**
 * Password reset by a single-use link (issue 22 §6.3, §2 rule 7). Asking answers the same
 * whether or not an account has the address, and the mail goes after the answer. The link is
 * `<origin>/#/reset?token=…`: the token rides in the fragment, which browsers never send in a
 * request (nor log, nor put in a Referer). Only its SHA-256 is stored; it works for 30 minutes,
 * and one conditional write spends it (store/reset-tokens.ts). Setting the new password ends every session and revokes the
 * access token, as a password change does; a password changed after the link was issued kills
 * the link.
 */

/** A reset link can be asked for only of a verified address: the one proven to be the user's. */
async function askForReset(call: Call<undefined>, input: Record<string, unknown>) {
  const { services } = call;
  requireOwnOrigin(call.request, services.settings.edge.siteOrigins);
  const email = emailField(input.email);
  if (!services.mailer.enabled)
    throw new Unavailable(msg("mail_not_configured"), "mail_not_configured");
  await services.attempts.mail(email, call.request.sourceIp);
  const asked = typeof input.lang === "string" ? mailLanguage(input.lang) : undefined;
  const fallback = requestLanguage(call);
  const origin = publicOrigin(call);
  mailAfterResponse(call, "password reset", async () => {
    const userId = await services.emails.owner(email);
    const user = userId ? await services.users.get(userId, true) : undefined;
    if (user?.status !== "enabled" || !user.emailVerified || !user.email) return undefined;
    const token = await services.resetTokens.issue(user.id, user.sessionVersion ?? 0);
    return resetMail({
      to: user.email,
      lang: user.lang ? mailLanguage(user.lang) : (asked ?? fallback),
      site: SITE_NAME,
      username: user.username,
      url: `${origin}/#/reset?token=${token}`,
      minutes: RESET_TTL_SECONDS / 60,
    });
  });
  return said(msg("reset_link_sent", { minutes: RESET_TTL_SECONDS / 60 }));
}

/** GET /api/reset_password?email= (one-api's route), and POST with JSON. */
export const askPasswordReset = publicRoute("GET", "/api/reset_password", "one-api", (call) =>
  askForReset(call, Object.fromEntries(call.request.query)),
);

export const postPasswordReset = publicRoute("POST", "/api/reset_password", "one-api", (call) =>
  askForReset(call, readJsonObject(call.request)),
);

/**
 * POST /api/user/reset {token, password} (one-api's route; sluice takes the new password rather
 * than making one up): spends the link and sets the password. The answer names the username,
 * so the console can sign in with the new password.
 */
export const resetPassword = publicRoute("POST", "/api/user/reset", "one-api", async (call) => {
  const { services } = call;
  requireOwnOrigin(call.request, services.settings.edge.siteOrigins);
  const body = readJsonObject(call.request);
  const token = field.string(body, "token", { required: true, max: 64 }) as string;
  const password = newPassword(body, "password");
  const refused = () => new InvalidRequest(msg("reset_token_invalid"), "token");
  const grant = await services.resetTokens.consume(token);
  if (!grant) throw refused();
  try {
    const changed = await services.users.changeCredentials(grant.userId, {
      passwordHash: await hashPassword(password, services.settings.console.passwordCost),
      ifSessionVersion: grant.sessionVersion,
    });
    services.auth.credentialsChanged(grant.userId, changed);
  } catch (err) {
    if (err instanceof StaleCredentials || err instanceof ConditionFailed) throw refused();
    throw err;
  }
  const user = await services.users.get(grant.userId, true);
  return said(msg("password_reset_by_link_done"), { username: user?.username ?? null });
});
