import { Conflict, Forbidden, InvalidRequest, Unavailable } from "../errors";
import { readJsonObject } from "../http/body";
import { requireOwnOrigin } from "../http/cross-site";
import { type Call, publicRoute, userRoute } from "../http/route";
import { alreadyRegisteredMail, mailLanguage, verificationMail } from "../mail/templates";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import { trial } from "../site/sections/trial";
import { EmailTaken } from "../store/users";
import { CODE_TTL_SECONDS } from "../store/verifications";
import { reauthenticate } from "./admin-reauthentication";
import { field, invalid, ok } from "./envelope";
import { mailAfterResponse, publicOrigin, requestLanguage, SITE_NAME, said } from "./mail-context";
import { grantTrialCredit } from "./trial-credit";
import { userView } from "./views";

/**
 * E-mail verification (issue 22 §6.2): a six-digit code mailed to an address before anything
 * is made of it — at registration (the site's `email_verification`: off or required) or when a
 * signed-in user sets a new address in Settings. Asking for a code answers the same whether or
 * not the address has an account; its owner learns that in the mail.
 */

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** An e-mail address (`email`) from a request, trimmed, or a 400 naming the field. */
export function emailField(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "")
    throw invalid(msg("field_required", { field: "email" }));
  const email = value.trim();
  if (email.length > 254 || !EMAIL.test(email)) throw invalid(msg("email_invalid"));
  return email;
}

/**
 * GET /api/verification?email=&lang= (one-api's route; POST with JSON too): mails a code to
 * `email` for registering, while registration is not closed. Counted per address mailed and per
 * sender before anything is looked up; the answer is the same for every address.
 */
async function askForRegistration(call: Call<undefined>, input: Record<string, unknown>) {
  const { services } = call;
  requireOwnOrigin(call.request, services.settings.edge.siteOrigins);
  const email = emailField(input.email);
  const options = await services.siteOptions.get();
  if (options.values.registration.mode === "closed")
    throw new Forbidden(msg("registration_closed"));
  return sendCode(call, email, typeof input.lang === "string" ? input.lang : undefined);
}

export const askVerificationCode = publicRoute("GET", "/api/verification", "one-api", (call) =>
  askForRegistration(call, Object.fromEntries(call.request.query)),
);

export const postVerificationCode = publicRoute("POST", "/api/verification", "one-api", (call) =>
  askForRegistration(call, readJsonObject(call.request)),
);

/** POST /api/user/email/code {email}: a code to the address a signed-in user wants to set. */
export const askEmailCode = userRoute("POST", "/api/user/email/code", async (call) => {
  const body = readJsonObject(call.request);
  const email = emailField(body.email);
  const { user } = call.principal;
  return sendCode(call, email, user.lang ?? (body.lang as string | undefined), user.id);
});

/**
 * POST /api/user/email {email, code, current_password?}: sets the signed-in user's address,
 * proven by its code, and claims it for them; the address they had verified before is given
 * up. The owner proves who they are first (admin-reauthentication.ts's `reauthenticate`). A
 * pending trial that waits for a verified e-mail (trial_verification email) is granted now.
 */
export const setEmail = userRoute("POST", "/api/user/email", async (call) => {
  const { services } = call;
  const body = readJsonObject(call.request);
  const email = emailField(body.email);
  const code = field.string(body, "code", { required: true, max: 16 }) as string;
  // A stolen session or access token must not put its thief's address here: reset links
  // would go to it.
  const { user: before, sessionVersion } = await reauthenticate(call, body);
  await proveEmail(services, email, code);
  try {
    await services.users.changeEmail(before.id, email, {
      verified: true,
      previous: before,
      ifSessionVersion: sessionVersion,
    });
  } catch (err) {
    if (err instanceof EmailTaken) throw emailTaken();
    throw err;
  }
  const options = await services.siteOptions.get();
  if (options.of(trial).verification === "email" && before.trial?.state === "pending")
    await grantTrialCredit(services, before.id, before.trial, before.id, call.request.id);
  services.auth.forgetAll();
  const user = await services.users.get(before.id, true);
  return ok(user && userView(user));
});

/** The code mailed to `email` is `code` (it is taken: it works once); else a 400. */
export async function proveEmail(services: Services, email: string, code: string): Promise<void> {
  const outcome = await services.verifications.check(email, code.trim());
  if (outcome !== "ok")
    throw new InvalidRequest(msg("verification_code_invalid"), "verification_code");
}

export function emailTaken(): Conflict {
  return new Conflict(msg("email_taken"), "email");
}

/**
 * Counts the ask, answers, and after the answer mails either a new code or, when the address
 * is another account's, a note to its owner (with where to reset the password).
 */
async function sendCode(call: Call<unknown>, email: string, lang?: string, userId?: string) {
  const { services } = call;
  if (!services.mailer.enabled)
    throw new Unavailable(msg("mail_not_configured"), "mail_not_configured");
  await services.attempts.mail(email, call.request.sourceIp);
  const language = lang ? mailLanguage(lang) : requestLanguage(call);
  const origin = publicOrigin(call);
  mailAfterResponse(call, "verification", async () => {
    const owner = await services.emails.owner(email);
    if (owner && owner !== userId)
      return alreadyRegisteredMail({
        to: email,
        lang: language,
        site: SITE_NAME,
        resetUrl: `${origin}/#/forgot`,
      });
    const code = await services.verifications.issue(email);
    return verificationMail({
      to: email,
      lang: language,
      site: SITE_NAME,
      code,
      minutes: CODE_TTL_SECONDS / 60,
    });
  });
  return said(msg("verification_code_sent", { minutes: CODE_TTL_SECONDS / 60 }));
}
