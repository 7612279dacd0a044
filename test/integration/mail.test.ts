/**
 * E-mail over HTTP against the shared stack: sluice's mail goes over SMTP to the stack's own
 * mailbox (infra/local/mailbox.ts, a real SMTP server), and each test reads what its own
 * fresh address received.
 */
import { describe, expect, it } from "vitest";
import { SmtpMailer } from "../../shared/mail/smtp";
import { verificationMail } from "../../shared/mail/templates";
import { freshAddress, mailTo, waitForMail } from "./mail-support";
import { sluice } from "./support";

describe("the mailbox", () => {
  it("receives a mail sent over SMTP and gives it back by recipient, parsed", async () => {
    const to = freshAddress("smtp");
    const mailer = new SmtpMailer("sluice <sluice@localhost>", {
      ...sluice.mailboxSmtp,
      secure: false,
    });
    await mailer.send(
      verificationMail({ to, lang: "zh", site: "sluice", code: "123456", minutes: 10 }),
    );
    const [mail, ...more] = await mailTo(to);
    expect(more).toEqual([]);
    expect(mail).toMatchObject({
      from: "sluice@localhost",
      to: [to],
      subject: "sluice 验证码",
      tags: { kind: "verification" },
    });
    expect(mail?.text).toContain("你的验证码是 123456。");
    expect(mail?.html).toContain("<p>你的验证码是 123456。</p>");
    expect(await mailTo(freshAddress("nobody"))).toEqual([]);
    expect((await waitForMail(to)).length).toBe(1);
  });
});
