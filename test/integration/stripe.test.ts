import { describe, expect, it } from "vitest";
import { api, createUser, type Json, sluice, type TestUser } from "./support";

/**
 * Stripe Checkout over HTTP against the run's stack, whose demo Stripe API
 * (infra/local/demo-payments/stripe-api.ts) the stack configured at start: sluice's real
 * `stripe` client creates the session there, the demo's checkout page "pays" and POSTs the
 * signed `checkout.session.completed` to the webhook, and `/demo/event/<session>` hands the
 * tests a signed event (or a forged copy). Each test has users of its own; no test changes
 * the payment settings. Orderings and races are stripe-core.test.ts's, on the core.
 */

async function paidQuota(user: TestUser): Promise<number> {
  return (await api(user.accessToken, "GET", "/api/user/self")).body.data.paid_quota;
}

async function orderOf(user: TestUser, id: string): Promise<Json> {
  const answer = await api(user.accessToken, "GET", `/api/payment/order/${id}`);
  expect(answer.status).toBe(200);
  return answer.body.data;
}

async function stripeOrder(user: TestUser, amount = 500) {
  const created = await api(user.accessToken, "POST", "/api/payment/stripe", {
    amount_minor: amount,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  const { order_id: id, url } = created.body.data as { order_id: string; url: string };
  const page = new URL(url);
  return { id, url, demo: page.origin, session: page.pathname.split("/").pop() as string };
}

async function signedEvent(demo: string, session: string, query = "") {
  const response = await fetch(`${demo}/demo/event/${session}?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as { payload: string; header: string };
}

async function deliver(event: { payload: string; header: string }) {
  const response = await fetch(`${sluice.url}/api/payment/stripe/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": event.header },
    body: event.payload,
  });
  return response.status;
}

describe("Stripe Checkout", () => {
  it("the customer pays on the checkout page: the webhook credits once, the return page shows it", async () => {
    const user = await createUser({ paidUsd: 0 });
    const options = await api(user.accessToken, "GET", "/api/payment/options");
    expect(options.body.data.methods).toContainEqual({ provider: "stripe", currency: "USD" });
    const usd = options.body.data.currencies.find((c: Json) => c.currency === "USD");
    const { id, url } = await stripeOrder(user, 500);
    expect(await orderOf(user, id)).toMatchObject({ state: "pending", checkout_url: url });
    const paid = await fetch(url, { method: "POST", redirect: "manual" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`${sluice.url}/#/topup/orders/${id}`);
    const order = await orderOf(user, id);
    expect(order).toMatchObject({ state: "credited", amount: "5.00", currency: "USD" });
    expect(order.units).toBe((500 * usd.units_per) / 100);
    expect(await paidQuota(user)).toBe(order.units);
  });

  it("a signed event replayed three times and a forged one: credited once, the forgery 400", async () => {
    const user = await createUser({ paidUsd: 0 });
    const { id, demo, session } = await stripeOrder(user, 1000);
    // The session paid on the demo's side without its webhook reaching sluice: the test delivers.
    const forged = await signedEvent(demo, session, "forge=amount_total:100000");
    const forgedAnswers = await Promise.all([
      deliver(forged),
      deliver({ ...forged, header: "t=1,v1=00" }),
    ]);
    expect(forgedAnswers).toEqual([400, 400]);
    expect((await orderOf(user, id)).state).toBe("pending");
    const paidPage = await fetch(`${demo}/c/pay/${session}`); // the page exists
    expect(paidPage.status).toBe(200);
    const signed = await signedEvent(demo, session);
    // Unpaid (the demo has not taken the money yet): processing, not credited.
    expect(await deliver(signed)).toBe(200);
    expect((await orderOf(user, id)).state).toBe("processing");
    await fetch(`${demo}/c/pay/${session}`, { method: "POST", redirect: "manual" });
    const completed = await signedEvent(demo, session);
    const answers = await Promise.all([1, 2, 3].map(() => deliver(completed)));
    expect(answers).toEqual([200, 200, 200]);
    const order = await orderOf(user, id);
    expect(order.state).toBe("credited");
    expect(await paidQuota(user)).toBe(order.units);
  });
});
