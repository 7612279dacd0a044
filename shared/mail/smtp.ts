import type { Transporter } from "nodemailer";
import type { Mail, Mailer, MailSettings } from "./mailer";

/**
 * Mail through any SMTP server (an operator off AWS, or on AWS without SES; the local stack's
 * mailbox). nodemailer is imported on the first mail only: it is a side bundle beside the
 * function's (infra/side-bundles.ts), never read on a cold start that sends nothing.
 */
export class SmtpMailer implements Mailer {
  readonly enabled = true;
  private transport?: Promise<Transporter>;

  constructor(
    private readonly from: string,
    private readonly smtp: MailSettings["smtp"],
  ) {}

  async send(mail: Mail): Promise<void> {
    this.transport ??= this.connect().catch((err) => {
      this.transport = undefined;
      throw err;
    });
    const transport = await this.transport;
    await transport.sendMail({
      from: this.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      ...(mail.html ? { html: mail.html } : {}),
      headers: Object.fromEntries(
        Object.entries(mail.tags).map(([name, value]) => [`X-Sluice-${name}`, value]),
      ),
    });
  }

  private async connect(): Promise<Transporter> {
    const nodemailer = await import("nodemailer");
    const { host, port, secure, user, password } = this.smtp;
    return nodemailer.createTransport({
      host,
      port,
      secure,
      ...(user ? { auth: { user, pass: password ?? "" } } : {}),
      // A mail is sent while a request waits (after its answer): no server may hold it long.
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
  }
}
