import { InvalidRequest } from "../../errors";
import { mailerFrom } from "../../mail/mailer";
import { msg } from "../../messages/codes";
import { siteField } from "../fields";
import { defineSection } from "../section";
import { trial } from "./trial";

/**
 * Stream e-mail (issue 22 §6.2): whether registering needs an e-mail address proven by a code
 * mailed to it. How mail goes out (SES or SMTP, the sender) is the deployment's configuration
 * (settings `SLUICE_MAIL*`, README: E-mail), not a site option: on AWS the stack grants sending
 * for one sender only.
 */
export type EmailVerification = "off" | "required";
export const EMAIL_VERIFICATIONS: readonly EmailVerification[] = ["off", "required"];

export const mail = defineSection({
  name: "mail",
  fields: { verification: siteField.oneOf(EMAIL_VERIFICATIONS) },
  defaults: () => ({ verification: "off" as EmailVerification }),
  check: ({ verification }, site) => {
    if (mailerFrom(site.settings.mail).enabled) return;
    if (verification === "required" || site.of(trial).verification === "email")
      throw new InvalidRequest(msg("mail_setup_required"), "verification");
  },
  publicView: ({ verification }, site) => ({
    // The register page asks for a code; the sign-in page offers "forgot password".
    email_verification: verification,
    mail: mailerFrom(site.settings.mail).enabled,
  }),
});
