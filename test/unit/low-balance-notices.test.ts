import { Logger } from "@aws-lambda-powertools/logger";
import { beforeAll, describe, expect, it } from "vitest";
import { LowBalanceNotices } from "../../functions/usage-rollup/low-balance";
import { newId } from "../../shared/auth/secrets";
import type { Mail, Mailer } from "../../shared/mail/mailer";
import { accountKey, userKey } from "../../shared/store/keys";
import type { StreamedLine } from "../../shared/store/rollups";
import { newUserProfile } from "../../shared/store/users";
import { type Core, startCore } from "../fixtures/core";
import { LostAnswers } from "../fixtures/memory-dynamo/lost-answers";

/**
 * A low-balance notice whose mail cannot be sent does not fail the stream batch (the stream
 * would retry it without end, holding the shard's rollups back): the mark is taken back, and
 * the user's next line tries again, once. A call's line, written before its settlement, is
 * counted against the balance when the stream brings it first. A batch that saw the balance
 * back above the threshold takes back only the mark it saw.
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

/** Notices on `table`, reading profiles afresh each time (no cache), mailing by `mailer`. */
const noticesOn = (table: Core["table"], mailer: Mailer) =>
  new LowBalanceNotices(table, mailer, {
    log: new Logger({ logLevel: "SILENT" }),
    profileTtlMs: 0,
  });

const lineOf = (userId: string): StreamedLine[] => [
  { sequence: newId("", 8), line: { userId } as StreamedLine["line"] },
];

/** A user with an address and a threshold, whose balance is `units` (on `core` unless told). */
async function watchedUser(threshold: number, units: number, on = core) {
  const user = newUserProfile({
    id: newId("user_", 16),
    name: `lb${newId("", 8)}`,
    email: `low-${newId("", 6)}@example.test`,
    emailVerified: true,
  });
  await on.services.users.create({ ...user, lowBalanceAlertUnits: threshold });
  await on.services.ledger.topUp(user.id, {
    reference: `test:${user.id}`,
    bucket: "paid",
    units,
    by: "test",
    requestId: "r",
  });
  return user;
}

describe("a low-balance notice that cannot be sent", () => {
  it("leaves the batch whole, and is sent once by a later batch", async () => {
    const user = await watchedUser(1_000_000, 10);
    const mailer = new FlakyMailer();
    const notices = noticesOn(core.table, mailer);
    await expect(notices.check(lineOf(user.id))).resolves.toBeUndefined();
    expect(mailer.sent).toHaveLength(0);
    expect((await core.services.users.get(user.id, true))?.lowBalanceNotifiedAt).toBeUndefined();
    mailer.down = false;
    await notices.check(lineOf(user.id));
    await notices.check(lineOf(user.id));
    expect(mailer.sent.map((m) => m.to)).toEqual([user.email]);
  });
});

/** A core whose DynamoDB loses the answers the test says, and a watched user on it. */
async function lossyCore() {
  const dynamo = new LostAnswers();
  const own = await startCore({ dynamo });
  return { dynamo, own, user: await watchedUser(1_000_000, 10, own) };
}

describe("a low-balance notice whose mark landed but whose answer was lost", () => {
  it("is mailed: the mark's retry finds its own mark", async () => {
    const { dynamo, own, user } = await lossyCore();
    const mailer = new FlakyMailer();
    mailer.down = false;
    const notices = noticesOn(own.table, mailer);
    dynamo.lose(
      (operation, input) =>
        operation === "UpdateItem" &&
        String(input.UpdateExpression).startsWith("SET lowBalanceNotifiedAt"),
    );
    await notices.check(lineOf(user.id));
    expect(dynamo.repeated).toBe(1);
    expect(mailer.sent.map((m) => m.to)).toEqual([user.email]);
    await notices.check(lineOf(user.id));
    expect(mailer.sent).toHaveLength(1);
  });
});

describe("two batches that see the same crossing at once", () => {
  it("mail once: the one whose mark lands", async () => {
    const user = await watchedUser(1_000_000, 10);
    const mailer = new FlakyMailer();
    mailer.down = false;
    const batch = () => noticesOn(core.table, mailer);
    await Promise.all([batch().check(lineOf(user.id)), batch().check(lineOf(user.id))]);
    expect(mailer.sent.map((m) => m.to)).toEqual([user.email]);
  });
});

describe("a notice not sent whose mark's removal lost its answer", () => {
  it("leaves the batch whole, and is sent once by a later batch", async () => {
    const { dynamo, own, user } = await lossyCore();
    const mailer = new FlakyMailer();
    const notices = noticesOn(own.table, mailer);
    dynamo.lose(
      (operation, input) =>
        operation === "UpdateItem" &&
        String(input.UpdateExpression).startsWith("REMOVE lowBalanceNotifiedAt"),
    );
    await expect(notices.check(lineOf(user.id))).resolves.toBeUndefined();
    expect(dynamo.repeated).toBe(1);
    expect((await own.services.users.get(user.id, true))?.lowBalanceNotifiedAt).toBeUndefined();
    mailer.down = false;
    await notices.check(lineOf(user.id));
    expect(mailer.sent.map((m) => m.to)).toEqual([user.email]);
  });
});

describe("a call's line that the stream brings before the call settled", () => {
  it("counts what the call will take: the crossing it makes is told", async () => {
    const threshold = 500_000; // $1
    const user = await watchedUser(threshold, threshold);
    // The ledger's order (billing/ledger.ts): the hold, then the line; the settlement that
    // takes the cost from the balance has not landed when the batch is read.
    const start = Date.now();
    const hold = { id: newId("", 16), start, units: 5_000 };
    await core.services.accounts.holdAccount(user.id, hold);
    const line = {
      type: "consume",
      id: hold.id,
      time: start,
      userId: user.id,
      requestId: `req_${hold.id}`,
      promptTokens: 10,
      completionTokens: 10,
      quota: 300,
      requests: 1,
      held: hold.units,
    } as const;
    await core.services.usage.put(line);
    expect((await core.services.accounts.get(user.id, true))?.balances.total).toBe(threshold);
    const mailer = new FlakyMailer();
    mailer.down = false;
    const notices = noticesOn(core.table, mailer);
    // A line of someone else's, or of a call of this user's that settled, counts nothing.
    await notices.check([{ sequence: "1", line: { ...line, id: newId("", 16) } }]);
    expect(mailer.sent).toHaveLength(0);
    await notices.check([{ sequence: "2", line }]);
    expect(mailer.sent.map((m) => m.to)).toEqual([user.email]);
    // $0.9994, in cents down: never "$1.00 is below $1.00".
    expect(mailer.sent[0]?.text).toContain("$0.99");
  });
});

describe("a batch that saw the balance back above the threshold", () => {
  it("takes back only the mark it saw: a crossing told since it read stays told", async () => {
    const threshold = 500_000;
    const user = await watchedUser(threshold, 2 * threshold);
    // Told of an earlier crossing an hour ago; topped up since.
    const earlier = Math.floor(Date.now() / 1000) - 3_600;
    await core.table.update(userKey(user.id), {
      update: "SET lowBalanceNotifiedAt = :at",
      values: { ":at": earlier },
    });
    const mailer = new FlakyMailer();
    mailer.down = false;
    const log = new Logger({ logLevel: "SILENT" });
    const other = new LowBalanceNotices(core.table, mailer, { log, profileTtlMs: 0 });
    // Between this batch's read of the balance (above) and its taking the mark back, another
    // batch took it back too, the user spent below the threshold, and that was told.
    let interleaved = false;
    const table = new Proxy(core.table, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== "get" || typeof value !== "function") return value;
        return async (...args: Parameters<typeof target.get>) => {
          const item = await value.apply(target, args);
          if (
            !interleaved &&
            args[0].sk === accountKey(user.id).sk &&
            args[0].pk === accountKey(user.id).pk
          ) {
            interleaved = true;
            await core.table.update(userKey(user.id), { update: "REMOVE lowBalanceNotifiedAt" });
            const spend = { id: newId("", 16), start: Date.now(), units: 600_000 };
            await core.services.accounts.holdAccount(user.id, spend);
            await core.services.accounts.settleAccount(user.id, spend, spend.units, 1);
            await other.check(lineOf(user.id));
          }
          return item;
        };
      },
    });
    const stale = new LowBalanceNotices(table, mailer, { log, profileTtlMs: 0 });
    await stale.check(lineOf(user.id));
    expect(interleaved).toBe(true);
    expect(mailer.sent).toHaveLength(1);
    // The crossing stays told: the next line mails nothing.
    expect((await core.services.users.get(user.id, true))?.lowBalanceNotifiedAt).toBeGreaterThan(
      earlier,
    );
    await other.check(lineOf(user.id));
    expect(mailer.sent).toHaveLength(1);
  });
});
