import { Logger } from "@aws-lambda-powertools/logger";
import { beforeAll, describe, expect, it } from "vitest";
import { LowBalanceNotices } from "../../functions/usage-rollup/low-balance";
import { newId } from "../../shared/auth/secrets";
import type { Mail, Mailer } from "../../shared/mail/mailer";
import type { StreamedLine } from "../../shared/store/rollups";
import { newUserProfile } from "../../shared/store/users";
import { type Core, startCore } from "../fixtures/core";

/**
 * A low-balance notice whose mail cannot be sent does not fail the stream batch (the stream
 * would retry it without end, holding the shard's rollups back): the mark is taken back, and
 * the user's next line tries again, once.
 */
let core: Core;

beforeAll(async () => {
  core = await startCore();
});

class FlakyMailer implements Mailer {
  readonly enabled = true;
  down = true;
  sent: Mail[] = [];
  async send(mail: Mail) {
    if (this.down) throw new Error("SMTP: connection refused");
    this.sent.push(mail);
  }
}

const lineOf = (userId: string): StreamedLine[] => [
  { sequence: newId("", 8), line: { userId } as StreamedLine["line"] },
];

describe("a low-balance notice that cannot be sent", () => {
  it("leaves the batch whole, and is sent once by a later batch", async () => {
    const user = newUserProfile({
      id: newId("user_", 16),
      name: `lb${newId("", 8)}`,
      email: "low@example.test",
      emailVerified: true,
    });
    await core.services.users.create({ ...user, lowBalanceAlertUnits: 1_000_000 });
    await core.services.ledger.topUp(user.id, {
      reference: `test:${user.id}`,
      bucket: "paid",
      units: 10,
      by: "test",
      requestId: "r",
    });
    const mailer = new FlakyMailer();
    const notices = new LowBalanceNotices(core.table, mailer, {
      log: new Logger({ logLevel: "SILENT" }),
      profileTtlMs: 0,
    });
    await expect(notices.check(lineOf(user.id))).resolves.toBeUndefined();
    expect(mailer.sent).toHaveLength(0);
    expect((await core.services.users.get(user.id, true))?.lowBalanceNotifiedAt).toBeUndefined();
    mailer.down = false;
    await notices.check(lineOf(user.id));
    await notices.check(lineOf(user.id));
    expect(mailer.sent.map((m) => m.to)).toEqual(["low@example.test"]);
  });
});
