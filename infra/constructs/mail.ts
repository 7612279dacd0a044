import { Stack } from "aws-cdk-lib";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";

/** The deployment's SES sender (options `sluice:mailFrom`, `sluice:mailIdentity`, …). */
export interface MailOptions {
  /** The sender, `a@example.com` or `Site <a@example.com>`. */
  from: string;
  /** The verified SES identity the sender belongs to: its domain, or the address itself. */
  identity: string;
  /** An SES configuration set the mail is sent with (event publishing), if any. */
  configurationSet?: string;
}

/** The bare address of a sender written `Name <address>` or `address`. */
export function senderAddress(from: string): string {
  const angle = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(from);
  return (angle?.[1] ?? from).trim();
}

/**
 * Lets the functions that send mail (the API: codes and resets; the rollups: low-balance
 * notices) send through SES as the one sender, and tells them to: `ses:SendEmail` on the
 * configured identity only (and the configuration set, when one is named), on the condition
 * that the From address is the sender. A leaked role cannot mail as anyone else of the
 * identity, nor through another identity of the account.
 */
export function grantSesSending(functions: readonly LambdaFunction[], mail: MailOptions): void {
  if (functions.length === 0) return;
  const stack = Stack.of(functions[0] as LambdaFunction);
  const arn = (resource: string, resourceName: string) =>
    stack.formatArn({ service: "ses", resource, resourceName });
  const resources = [
    arn("identity", mail.identity),
    ...(mail.configurationSet ? [arn("configuration-set", mail.configurationSet)] : []),
  ];
  for (const fn of functions) {
    fn.addEnvironment("SLUICE_MAIL", "ses");
    fn.addEnvironment("SLUICE_MAIL_FROM", mail.from);
    if (mail.configurationSet)
      fn.addEnvironment("SLUICE_SES_CONFIGURATION_SET", mail.configurationSet);
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ["ses:SendEmail"],
        resources,
        conditions: { StringEquals: { "ses:FromAddress": senderAddress(mail.from) } },
      }),
    );
  }
}
