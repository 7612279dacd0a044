import Stripe from "stripe";
import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../shared/auth/secrets";
import { unitsFor } from "../../shared/payments/amounts";
import {
  applyStripeEvent,
  type StripeOutcome,
  stripeClient,
  verifyStripeEvent,
} from "../../shared/payments/stripe";
import type { DynamoOperation } from "../../shared/store/dynamo-transport";
import { newOrderId, type Order, orderRef } from "../../shared/store/orders";
import { newUserProfile } from "../../shared/store/users";
import { type Core, startCore } from "../fixtures/core";
import { MemoryDynamo } from "../fixtures/memory-dynamo/memory-dynamo";

/**
 * Stripe's events on the in-process core (DynamoDB in memory): each one signed with the
 * `stripe` package's own test signer and verified as the webhook route verifies it (raw bytes,
 * `constructEvent`, 300 s tolerance), then applied. Bursts, replays, orderings that Stripe
 * documents it may deliver (no order guaranteed), and forgeries that must write nothing.
 */

const SECRET = "whsec_core_test";
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"]);

/** DynamoDB in memory that counts the writes. */
class CountingDynamo extends MemoryDynamo {
  writes = 0;
  override async send(operation: DynamoOperation, input: Record<string, unknown>) {
    if (WRITES.has(operation)) this.writes++;
    return super.send(operation, input);
  }
}

let core: Core;
let dynamo: CountingDynamo;
let client: Stripe;

beforeAll(async () => {
  dynamo = new CountingDynamo();
  core = await startCore({ dynamo });
  client = await stripeClient("sk_test_core");
});

/** A new Stripe order of $5, bound to its session (as POST /api/payment/stripe leaves it). */
async function boundOrder(): Promise<{ order: Order; session: string }> {
  const userId = newId("user_", 16);
  await core.services.users.create(newUserProfile({ id: userId, name: `buyer${newId("", 6)}` }));
  const order = await core.services.orders.create({
    id: newOrderId(Date.now()),
    userId,
    provider: "stripe",
    currency: "USD",
    amountMinor: 500,
    unitsPer: 500_000,
    units: unitsFor(500, "USD", 500_000),
    createdAt: core.services.clock.seconds(),
  });
  const session = `cs_test_${newId("", 12)}`;
  await core.services.orders.move(order, { name: "bind", from: ["created"], to: "pending" }, 1, {
    providerRef: session,
  });
  return { order, session };
}

interface EventFields {
  type: string;
  session?: Record<string, unknown>;
  object?: Record<string, unknown>;
}

/** A Stripe event about `order`'s session, as raw bytes and its signature header. */
function signed(
  order: Order,
  session: string,
  { type, session: change = {}, object }: EventFields,
  options: { secret?: string; timestamp?: number; id?: string } = {},
) {
  const payload = JSON.stringify({
    id: options.id ?? `evt_${newId("", 14)}`,
    object: "event",
    api_version: Stripe.API_VERSION,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    type,
    data: {
      object: object ?? {
        id: session,
        object: "checkout.session",
        client_reference_id: orderRef(order),
        amount_total: 500,
        currency: "usd",
        payment_status: "paid",
        status: "complete",
        livemode: false,
        payment_intent: `pi_${order.id}`,
        ...change,
      },
    },
  });
  const header = Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? SECRET,
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
  });
  return { payload, header };
}

/** What the webhook route does with the bytes: verify, then apply (400 / 200 / 500). */
async function deliver(event: { payload: string; header: string }): Promise<number> {
  const verified = verifyStripeEvent(client, Buffer.from(event.payload), event.header, SECRET);
  if (!verified.ok) return 400;
  const outcome: StripeOutcome = await applyStripeEvent(core.services, verified.event, false, "r");
  return outcome === "done" ? 200 : 500;
}

const stateOf = async (order: Order) =>
  (await core.services.orders.get(order.userId, order.id))?.state;
const paidOf = async (order: Order) =>
  (await core.services.accounts.get(order.userId, true))?.balances.paid ?? 0;

async function expectCreditedOnce(order: Order) {
  expect(await stateOf(order)).toBe("credited");
  expect(await paidOf(order)).toBe(order.units);
  const account = await core.table.get({ pk: `USER#${order.userId}`, sk: "ACCOUNT" }, true);
  expect(Object.keys(account ?? {}).filter((name) => name.startsWith("g_"))).toHaveLength(1);
}

describe("Stripe events, verified and applied", () => {
  it("50 identical completed events at once: one grant", async () => {
    const { order, session } = await boundOrder();
    const event = signed(order, session, { type: "checkout.session.completed" });
    const answers = await Promise.all(Array.from({ length: 50 }, () => deliver(event)));
    expect(answers.every((status) => status === 200)).toBe(true);
    await expectCreditedOnce(order);
  });

  it("completed and async_payment_succeeded in one burst: once", async () => {
    const { order, session } = await boundOrder();
    const completed = signed(order, session, { type: "checkout.session.completed" });
    const succeeded = signed(order, session, {
      type: "checkout.session.async_payment_succeeded",
    });
    await Promise.all(Array.from({ length: 20 }, (_, i) => deliver(i % 2 ? completed : succeeded)));
    await expectCreditedOnce(order);
  });

  it("expired before completed: still credited (a verified payment is never refused for being late)", async () => {
    const { order, session } = await boundOrder();
    const expired = signed(order, session, {
      type: "checkout.session.expired",
      session: { status: "expired", payment_status: "unpaid" },
    });
    expect(await deliver(expired)).toBe(200);
    expect(await stateOf(order)).toBe("expired");
    expect(await deliver(signed(order, session, { type: "checkout.session.completed" }))).toBe(200);
    await expectCreditedOnce(order);
  });

  it("charge.refunded before completed: 500 until completed links it, then noted once", async () => {
    const { order, session } = await boundOrder();
    const refunded = signed(order, session, {
      type: "charge.refunded",
      object: {
        id: "ch_1",
        object: "charge",
        payment_intent: `pi_${order.id}`,
        amount_refunded: 200,
      },
    });
    expect(await deliver(refunded)).toBe(500);
    expect(await deliver(signed(order, session, { type: "checkout.session.completed" }))).toBe(200);
    expect(await Promise.all([deliver(refunded), deliver(refunded)])).toEqual([200, 200]);
    const noted = await core.services.orders.get(order.userId, order.id);
    expect(noted).toMatchObject({ state: "credited", refundedMinor: 200 });
    // Not clawed back: the quota may be spent; the admin decides.
    expect(await paidOf(order)).toBe(order.units);
    const dispute = signed(order, session, {
      type: "charge.dispute.created",
      object: {
        id: "dp_1",
        object: "dispute",
        payment_intent: `pi_${order.id}`,
        amount: 500,
        status: "needs_response",
      },
    });
    expect(await deliver(dispute)).toBe(200);
    expect((await core.services.orders.get(order.userId, order.id))?.dispute).toMatchObject({
      status: "needs_response",
      amountMinor: 500,
    });
  });

  it("refunds and disputes out of order: the largest refund and the latest dispute event stand", async () => {
    const { order, session } = await boundOrder();
    expect(await deliver(signed(order, session, { type: "checkout.session.completed" }))).toBe(200);
    const refund = (amount: number) =>
      signed(order, session, {
        type: "charge.refunded",
        object: {
          id: "ch_1",
          object: "charge",
          payment_intent: `pi_${order.id}`,
          amount_refunded: amount,
        },
      });
    // Stripe's amount_refunded is the total so far: 300 is newer than 100, whatever arrives last.
    expect(await deliver(refund(300))).toBe(200);
    expect(await deliver(refund(100))).toBe(200);
    expect((await core.services.orders.get(order.userId, order.id))?.refundedMinor).toBe(300);
    const dispute = (status: string, created: number) => {
      const event = signed(order, session, {
        type: status === "needs_response" ? "charge.dispute.created" : "charge.dispute.closed",
        object: {
          id: "dp_1",
          object: "dispute",
          payment_intent: `pi_${order.id}`,
          amount: 500,
          status,
        },
      });
      const payload = JSON.stringify({ ...JSON.parse(event.payload), created });
      return {
        payload,
        header: Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }),
      };
    };
    const now = Math.floor(Date.now() / 1000);
    expect(await deliver(dispute("won", now))).toBe(200);
    expect(await deliver(dispute("needs_response", now - 86_400))).toBe(200);
    expect((await core.services.orders.get(order.userId, order.id))?.dispute).toMatchObject({
      status: "won",
      at: now,
    });
  });

  it("completed unpaid → processing; async_payment_failed → failed; a late succeeded → credited", async () => {
    const { order, session } = await boundOrder();
    const unpaid = { payment_status: "unpaid", payment_intent: null };
    expect(
      await deliver(
        signed(order, session, { type: "checkout.session.completed", session: unpaid }),
      ),
    ).toBe(200);
    expect(await stateOf(order)).toBe("processing");
    expect(await paidOf(order)).toBe(0);
    expect(
      await deliver(
        signed(order, session, { type: "checkout.session.async_payment_failed", session: unpaid }),
      ),
    ).toBe(200);
    expect(await stateOf(order)).toBe("failed");
    expect(
      await deliver(signed(order, session, { type: "checkout.session.async_payment_succeeded" })),
    ).toBe(200);
    await expectCreditedOnce(order);
  });

  it("forged signature, stale timestamp: refused with no write; wrong amount: mismatch, not credited", async () => {
    const { order, session } = await boundOrder();
    const before = dynamo.writes;
    const forged = signed(
      order,
      session,
      { type: "checkout.session.completed" },
      { secret: "whsec_other" },
    );
    const stale = signed(
      order,
      session,
      { type: "checkout.session.completed" },
      { timestamp: Math.floor(Date.now() / 1000) - 301 },
    );
    const good = signed(order, session, { type: "checkout.session.completed" });
    const tampered = {
      ...good,
      payload: good.payload.replace('"amount_total":500', '"amount_total":50000'),
    };
    const answers = await Promise.all(
      [forged, stale, tampered].flatMap((e) => [deliver(e), deliver(e)]),
    );
    expect(answers).toEqual([400, 400, 400, 400, 400, 400]);
    expect(dynamo.writes).toBe(before);
    // Each refusal names the session its bytes claim (for the log line), and only a session's id.
    const verify = (e: { payload: string; header?: string }) =>
      verifyStripeEvent(client, Buffer.from(e.payload), e.header, SECRET);
    for (const e of [forged, stale, tampered, { payload: good.payload }])
      expect(verify(e)).toEqual({ ok: false, reason: expect.any(String), claimedSession: session });
    const claimed = JSON.parse(good.payload);
    claimed.data.object.id = "pi_x<script>";
    for (const payload of [JSON.stringify(claimed), "not json", "null"])
      expect(verify({ payload, header: good.header })).toEqual({ ok: false, reason: "signature" });
    expect(await stateOf(order)).toBe("pending");
    // Signed by Stripe, but another amount: recorded as a mismatch, never credited.
    const wrong = signed(order, session, {
      type: "checkout.session.completed",
      session: { amount_total: 400 },
    });
    expect(await deliver(wrong)).toBe(200);
    expect(await stateOf(order)).toBe("mismatch");
    expect(await paidOf(order)).toBe(0);
    // Another session than the order's: nothing happens to the order.
    const { order: other, session: otherSession } = await boundOrder();
    expect(
      await deliver(signed(other, `${otherSession}x`, { type: "checkout.session.completed" })),
    ).toBe(200);
    expect(await stateOf(other)).toBe("pending");
  });
});
