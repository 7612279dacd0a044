import type { SESv2Client } from "@aws-sdk/client-sesv2";
import type { Mail, Mailer } from "./mailer";

/**
 * Mail through Amazon SES (API v2, SendEmail), signed with the function role's credentials:
 * the stack grants `ses:SendEmail` on the configured identity, for this sender only
 * (infra/constructs/mail.ts). The SDK is the Lambda runtime's (external to the bundle) and is
 * imported on the first mail only.
 */
export class SesMailer implements Mailer {
  readonly enabled = true;
  private client?: Promise<SESv2Client>;

  constructor(
    private readonly from: string,
    private readonly options: {
      configurationSet?: string;
      /** Where SES is (tests: a fake); the region's endpoint otherwise. */
      endpoint?: string;
      region?: string;
      credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    } = {},
  ) {}

  async send(mail: Mail): Promise<void> {
    const { SendEmailCommand } = await import("@aws-sdk/client-sesv2");
    const client = await this.connect();
    await client.send(
      new SendEmailCommand({
        FromEmailAddress: this.from,
        Destination: { ToAddresses: [mail.to] },
        Content: {
          Simple: {
            Subject: { Data: mail.subject, Charset: "UTF-8" },
            Body: {
              Text: { Data: mail.text, Charset: "UTF-8" },
              ...(mail.html ? { Html: { Data: mail.html, Charset: "UTF-8" } } : {}),
            },
          },
        },
        // SES allows letters, digits, _ and - in tag names and values.
        EmailTags: Object.entries(mail.tags).map(([Name, Value]) => ({
          Name,
          Value: Value.replace(/[^A-Za-z0-9_-]/g, "_"),
        })),
        ...(this.options.configurationSet
          ? { ConfigurationSetName: this.options.configurationSet }
          : {}),
      }),
    );
  }

  private connect(): Promise<SESv2Client> {
    this.client ??= import("@aws-sdk/client-sesv2").then(
      ({ SESv2Client }) =>
        new SESv2Client({
          maxAttempts: 2,
          ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
          ...(this.options.region ? { region: this.options.region } : {}),
          ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
        }),
    );
    return this.client;
  }
}
