import type { Settings } from "../config/settings";
import { Unavailable } from "../errors";
import { msg } from "../messages/codes";
import { SesMailer } from "./ses";
import { SmtpMailer } from "./smtp";

/** One mail: plain text, with minimal HTML beside it; `tags` name its kind (SES EmailTags). */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  tags: Record<string, string>;
}

/** Sends mail from the site's sender (SES on AWS, SMTP elsewhere; none: refuses). */
export interface Mailer {
  /** Whether mail can go out at all: features that need it refuse to be switched on without. */
  readonly enabled: boolean;
  send(mail: Mail): Promise<void>;
}

/** The deployment's mail transport (settings `SLUICE_MAIL`, `SLUICE_MAIL_FROM`, `SLUICE_SMTP_*`). */
export type MailSettings = Settings["mail"];

/** No transport configured: nothing can be sent, and the features that need mail stay off. */
export class NoMailer implements Mailer {
  readonly enabled = false;
  async send(): Promise<void> {
    throw new Unavailable(msg("mail_not_configured"), "mail_not_configured");
  }
}

/**
 * The mailer the settings choose. Each transport imports its SDK on its first mail only (SES's
 * is the Lambda runtime's; nodemailer is a side bundle, infra/side-bundles.ts).
 */
export function mailerFrom(settings: MailSettings): Mailer {
  const { transport, from } = settings;
  if (!from || transport === "none") return new NoMailer();
  if (transport === "smtp")
    return settings.smtp.host ? new SmtpMailer(from, settings.smtp) : new NoMailer();
  return new SesMailer(from, { configurationSet: settings.sesConfigurationSet });
}
