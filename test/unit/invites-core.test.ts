import { beforeAll, describe, expect, it } from "vitest";
import { newId, randomString } from "../../shared/auth/secrets";
import { clockOf } from "../../shared/clock";
import { type CreditedOrder, rewardInvitationAfterPaidOrder } from "../../shared/growth/first-paid";
import { INVITE_DEFAULTS, type InviteOptions } from "../../shared/growth/options";
import { runJanitor } from "../../shared/janitor/sweep";
import { inviteCounterKey } from "../../shared/store/keys";
import { newUserProfile } from "../../shared/store/users";
import { type Core, startCore } from "../fixtures/core";

/**
 * Invitation rewards on the in-process core (memory DynamoDB): registration by code, and the
 * reward after the invitee's first paid order, credited as the payments' crediting does
 * (the order's top-up to the paid bucket, then this call) — in bursts, replays, over the
 * monthly cap, and with a process that stops half-way.
 */

const OPTIONS: InviteOptions = {
  ...INVITE_DEFAULTS,
  enabled: true,
  inviterUnits: 250_000,
  inviteeUnits: 50_000,
  minPaidMinor: 500,
  maxPerMonth: 3,
};

let core: Core;
let now = Date.parse("2026-12-06T10:00:00Z");

beforeAll(async () => {
  core = await startCore();
  core.services.clock = clockOf(() => now);
});

async function newUser(): Promise<string> {
  const profile = newUserProfile({ id: newId("user_", 16), name: `u${newId("", 10)}` });
  await core.services.users.create(profile);
  return profile.id;
}

async function codeOf(userId: string): Promise<string> {
  const user = await core.services.users.get(userId, true);
  return core.services.invitations.codeOf(userId, user?.affCode);
}

/** Registers over the API, as the register page does with an invitation link. */
async function register(affCode?: string) {
  const username = `inv${randomString(10)}`;
  const answer = await core.call("POST", "/api/user/register", {
    body: { username, password: "long enough password", ...(affCode ? { aff_code: affCode } : {}) },
  });
  return { answer, username };
}

async function invitee(inviterId: string): Promise<string> {
  const { answer } = await register(await codeOf(inviterId));
  expect(answer.status).toBe(200);
  return answer.body.data.id;
}

/** An order paid and credited as shared/payments/credit.ts does, then the reward's call. */
async function creditOrder(userId: string, amountMinor: number, orderId = newId("ord_", 12)) {
  await core.services.ledger.topUp(userId, {
    reference: `order:${orderId}`,
    bucket: "paid",
    units: amountMinor * 5_000,
    by: userId,
    requestId: orderId,
  });
  const order: CreditedOrder = { userId, orderId, amountMinor, currency: "USD" };
  return { order, reward: () => rewardInvitationAfterPaidOrder(core.services, order, OPTIONS) };
}

const bonus = async (userId: string) =>
  (await core.services.accounts.get(userId, true))?.balances.bonus ?? 0;

describe("invitations", () => {
  it("gives each user one code, however many ask at once", async () => {
    const user = await newUser();
    const codes = await Promise.all(Array.from({ length: 20 }, () => codeOf(user)));
    expect(new Set(codes).size).toBe(1);
    expect(codes[0]).toMatch(/^[A-Z2-7]{8}$/);
    expect(await core.services.invitations.inviterOf(codes[0] as string)).toBe(user);
    expect(await codeOf(user)).toBe(codes[0]);
  });

  it("records the inviter of a registration with their code, and refuses a code that names nobody", async () => {
    const inviter = await newUser();
    const code = await codeOf(inviter);
    // Typed in lower case, with spaces: the same code.
    const { answer } = await register(` ${code.toLowerCase()} `);
    expect(answer.status).toBe(200);
    expect((await core.services.users.get(answer.body.data.id, true))?.invitedBy).toBe(inviter);
    expect((await core.services.invitations.totals(inviter)).signups).toBe(1);

    const unknown = await register("ZZZZZZZZ");
    expect(unknown.answer.status).toBe(400);
    expect(unknown.answer.body).toMatchObject({ success: false, code: "invite_code_unknown" });
    expect(await core.services.users.findByUsername(unknown.username)).toBeUndefined();
    const malformed = await register("not a code");
    expect(malformed.answer.status).toBe(400);
    // Without a code, registration goes on as ever.
    const plain = await register();
    expect(plain.answer.status).toBe(200);
    expect((await core.services.users.get(plain.answer.body.data.id, true))?.invitedBy).toBe(
      undefined,
    );
  });

  it("pays once when two orders of the invitee are credited at once, and replays of both add nothing", async () => {
    now = Date.parse("2026-12-06T10:00:00Z");
    const inviter = await newUser();
    const friend = await invitee(inviter);
    const first = await creditOrder(friend, 500);
    const second = await creditOrder(friend, 2_000);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? first : second).reward()),
    );
    expect(outcomes.filter((outcome) => outcome === "paid")).toHaveLength(1);
    expect(new Set(outcomes)).toEqual(new Set(["paid", "done"]));
    expect(await bonus(inviter)).toBe(OPTIONS.inviterUnits);
    expect(await bonus(friend)).toBe(OPTIONS.inviteeUnits);
    expect(await core.services.invitations.totals(inviter)).toEqual({
      signups: 1,
      paid: 1,
      earned: OPTIONS.inviterUnits,
    });
    // One of the month's rewards is taken, not one per order.
    const month = await core.table.get(inviteCounterKey(inviter, "2026-12"), true);
    expect(month?.rewards).toBe(1);
    const profile = await core.services.users.get(friend, true);
    expect(profile?.inviteReward).toMatchObject({ state: "paid", inviterId: inviter });
    expect(profile?.firstPaidAt).toBeDefined();
    // A third order later: nothing more.
    expect(await (await creditOrder(friend, 9_000)).reward()).toBe("done");
    expect(await bonus(inviter)).toBe(OPTIONS.inviterUnits);
    const { entries } = await core.services.usage.list(inviter, 50);
    expect(entries.map((line) => line.reference)).toEqual([`invite:${friend}`]);
  });

  it("pays nothing for an invitee who has not paid, or paid less than the minimum", async () => {
    now = Date.parse("2026-12-06T11:00:00Z");
    const inviter = await newUser();
    const friend = await invitee(inviter);
    await runJanitor(core.services, Math.floor(now / 1000) + 3600);
    expect(await bonus(inviter)).toBe(0);
    // Below the minimum: nothing, and the reward is still to be earned...
    expect(await (await creditOrder(friend, 499)).reward()).toBe("too_small");
    expect(await bonus(inviter)).toBe(0);
    expect((await core.services.users.get(friend, true))?.inviteReward).toBeUndefined();
    // ...by a later order that reaches it.
    expect(await (await creditOrder(friend, 500)).reward()).toBe("paid");
    expect(await bonus(inviter)).toBe(OPTIONS.inviterUnits);
  });

  it("pays nothing for a user nobody invited, or while invitations are off", async () => {
    const loner = await newUser();
    const { order } = await creditOrder(loner, 5_000);
    expect(await rewardInvitationAfterPaidOrder(core.services, order, OPTIONS)).toBe("uninvited");
    const inviter = await newUser();
    const friend = await invitee(inviter);
    const off = await creditOrder(friend, 5_000);
    expect(
      await rewardInvitationAfterPaidOrder(core.services, off.order, {
        ...OPTIONS,
        enabled: false,
      }),
    ).toBe("off");
    expect(await bonus(inviter)).toBe(0);
  });

  it("pays an inviter at most max_per_month rewards a month, however many invitees pay at once", async () => {
    now = Date.parse("2026-12-20T10:00:00Z");
    const inviter = await newUser();
    const friends = await Promise.all(Array.from({ length: 6 }, () => invitee(inviter)));
    const orders = await Promise.all(friends.map((friend) => creditOrder(friend, 1_000)));
    const outcomes = await Promise.all(orders.flatMap((order) => [order.reward(), order.reward()]));
    expect(outcomes.filter((outcome) => outcome === "paid")).toHaveLength(OPTIONS.maxPerMonth);
    expect(await bonus(inviter)).toBe(OPTIONS.maxPerMonth * OPTIONS.inviterUnits);
    const states = await Promise.all(
      friends.map(async (friend) => (await core.services.users.get(friend, true))?.inviteReward),
    );
    expect(states.filter((reward) => reward?.state === "capped")).toHaveLength(3);
    // A capped invitee stays capped, even once the month has turned.
    const capped = friends[states.findIndex((reward) => reward?.state === "capped")] as string;
    now = Date.parse("2027-01-02T10:00:00Z");
    expect(await (await creditOrder(capped, 1_000)).reward()).toBe("done");
    // A new month's invitee is paid.
    const next = await invitee(inviter);
    expect(await (await creditOrder(next, 1_000)).reward()).toBe("paid");
    expect(await bonus(inviter)).toBe((OPTIONS.maxPerMonth + 1) * OPTIONS.inviterUnits);
  });

  it("after a stop between the claim and the credit: the janitor pays it once, and a replay meanwhile too", async () => {
    now = Date.parse("2026-12-07T10:00:00Z");
    const inviter = await newUser();
    const friend = await invitee(inviter);
    const paid = await creditOrder(friend, 1_000);
    // The inviter's top-up fails: claimed, not paid.
    await expect(
      core.failing("UpdateItem", `USER#${inviter}`, () => paid.reward()),
    ).rejects.toThrow();
    expect((await core.services.users.get(friend, true))?.inviteReward?.state).toBe("claimed");
    expect(await bonus(inviter)).toBe(0);
    const seconds = Math.floor(now / 1000);
    expect((await runJanitor(core.services, seconds + 60)).growthFinished).toBeUndefined();
    const [report, replay] = await Promise.all([
      runJanitor(core.services, seconds + 121),
      paid.reward(),
    ]);
    expect([report.growthFinished ?? 0, replay === "paid" ? 1 : 0].sort()).toEqual([0, 1]);
    expect(await bonus(inviter)).toBe(OPTIONS.inviterUnits);
    expect(await bonus(friend)).toBe(OPTIONS.inviteeUnits);
    expect((await core.services.users.get(friend, true))?.inviteReward?.state).toBe("paid");
    expect((await core.services.invitations.totals(inviter)).paid).toBe(1);
    expect((await runJanitor(core.services, seconds + 600)).growthFinished).toBeUndefined();
    expect(await bonus(inviter)).toBe(OPTIONS.inviterUnits);
  });
});
