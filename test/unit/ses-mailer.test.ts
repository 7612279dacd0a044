/**
 * SES v2 through @aws-sdk/client-sesv2 (shared/mail/ses.ts), against a fake SES endpoint that
 * checks each request's SigV4 signature by signing it again with @smithy/signature-v4: a mail
 * goes out signed for `ses` in the region, with the sender, recipient, both bodies and the tags
 * as SES's SendEmail takes them; wrong credentials are refused by the endpoint and the send
 * fails (a caller sees it, nothing is swallowed).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SesMailer } from "../../shared/mail/ses";
import { resetMail } from "../../shared/mail/templates";
import { type FakeSes, startFakeSes } from "../fixtures/fake-ses";

// The SDK's notice about Node 20 is the runtime's business, not this test's.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const REGION = "eu-west-1";
const CREDENTIALS = {
  accessKeyId: "AKIASLUICEFAKESES001",
  secretAccessKey: "fake/ses/secret/000000000000000000000000",
};
let ses: FakeSes;

beforeAll(async () => {
  ses = await startFakeSes({ region: REGION, credentials: CREDENTIALS });
});
afterAll(() => ses.close());

describe("the SES mailer", () => {
  it("sends SendEmail signed for ses in the region, with both bodies and the tags", async () => {
    const mailer = new SesMailer("Example <no-reply@example.com>", {
      endpoint: ses.url,
      region: REGION,
      credentials: CREDENTIALS,
      configurationSet: "sluice-events",
    });
    const mail = resetMail({
      to: "alice@example.net",
      lang: "zh",
      site: "sluice",
      username: "alice",
      url: "https://console.example.com/#/reset?token=abc",
      minutes: 30,
    });
    await mailer.send(mail);
    await mailer.send({ ...mail, to: "bob@example.net", tags: { kind: "a b/c" } });
    expect(ses.sent).toHaveLength(2);
    // biome-ignore lint/suspicious/noExplicitAny: SES's JSON, checked field by field.
    const [first, second] = ses.sent as Record<string, any>[];
    expect(first).toEqual({
      FromEmailAddress: "Example <no-reply@example.com>",
      Destination: { ToAddresses: ["alice@example.net"] },
      Content: {
        Simple: {
          Subject: { Data: mail.subject, Charset: "UTF-8" },
          Body: {
            Text: { Data: mail.text, Charset: "UTF-8" },
            Html: { Data: mail.html, Charset: "UTF-8" },
          },
        },
      },
      EmailTags: [{ Name: "kind", Value: "password_reset" }],
      ConfigurationSetName: "sluice-events",
    });
    expect(first?.Content.Simple.Body.Text.Data).toContain(
      "https://console.example.com/#/reset?token=abc",
    );
    // A tag value SES would refuse is made one it takes.
    expect(second?.EmailTags).toEqual([{ Name: "kind", Value: "a_b_c" }]);
  });

  it("fails when SES refuses the signature, and sends nothing", async () => {
    const before = ses.sent.length;
    const mailer = new SesMailer("no-reply@example.com", {
      endpoint: ses.url,
      region: REGION,
      credentials: { ...CREDENTIALS, secretAccessKey: "not/the/secret/0000000000000000000000000" },
    });
    await expect(
      mailer.send({ to: "x@example.net", subject: "s", text: "t", tags: { kind: "test" } }),
    ).rejects.toThrow();
    const otherRegion = new SesMailer("no-reply@example.com", {
      endpoint: ses.url,
      region: "us-east-1",
      credentials: CREDENTIALS,
    });
    await expect(
      otherRegion.send({ to: "x@example.net", subject: "s", text: "t", tags: { kind: "test" } }),
    ).rejects.toThrow();
    expect(ses.sent.length).toBe(before);
  });
});
