import { describe, expect, it } from "vitest";
import { admin, api, createUser, type Json, sluice, type TestUser } from "./support";

/**
 * Buying credit over HTTP against the run's stack, whose demo EPay gateway
 * (infra/local/demo-payments/epay-gateway.ts) the stack configured at start: it signs with
 * sluice's payments/epay-sign.ts (pinned by published vectors in epay-sign.test.ts), sends its notification by POST form, and sends the
 * customer back by the signed return URL. Each test has users of its own; no test changes the
 * payment settings. Races and faults of crediting are payments-core.test.ts's, on the core.
 */

async function paidQuota(user: TestUser): Promise<number> {
  const answer = await api(user.accessToken, "GET", "/api/user/self");
  return answer.body.data.paid_quota;
}

async function orderOf(user: TestUser, id: string): Promise<Json> {
  const answer = await api(user.accessToken, "GET", `/api/payment/order/${id}`);
  expect(answer.status).toBe(200);
  return answer.body.data;
}

/** A new order of `amount` fen, and the gateway's cashier page for it (which the gateway now knows). */
async function epayOrder(user: TestUser, amount = 3500) {
  const created = await api(user.accessToken, "POST", "/api/payment/epay", {
    amount_minor: amount,
    type: "alipay",
  });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  const { order_id: id, url } = created.body.data as { order_id: string; url: string };
  const cashier = await fetch(url);
  expect(cashier.status).toBe(200);
  const submit = new URL(url);
  const gateway = submit.origin;
  const ref = submit.searchParams.get("out_trade_no") as string;
  return { id, url, gateway, ref, page: await cashier.text() };
}

/** The gateway's signed notification of a trade; `forge` changes fields after it is signed. */
async function notification(gateway: string, ref: string, forge: string[] = []) {
  const query = new URLSearchParams(forge.map((change): [string, string] => ["forge", change]));
  const response = await fetch(`${gateway}/demo/notification/${ref}?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, string>;
}

/** Sends a notification to sluice as a gateway would (POST form, or GET), and its plain answer. */
async function notify(params: Record<string, string>, method: "GET" | "POST" = "POST") {
  const form = new URLSearchParams(params);
  const response =
    method === "POST"
      ? await fetch(`${sluice.url}/api/payment/epay/notify`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: form.toString(),
        })
      : await fetch(`${sluice.url}/api/payment/epay/notify?${form}`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
  return response.text();
}

describe("EPay", () => {
  it("the customer pays on the cashier: credited once, and the return page shows it", async () => {
    const user = await createUser({ paidUsd: 0 });
    const options = await api(user.accessToken, "GET", "/api/payment/options");
    const cny = options.body.data.currencies.find((c: Json) => c.currency === "CNY");
    expect(options.body.data.methods).toContainEqual({
      provider: "epay",
      type: "alipay",
      currency: "CNY",
    });
    const { id, page, gateway } = await epayOrder(user, 3500);
    expect((await orderOf(user, id)).state).toBe("pending");
    const pay = /href="(\/pay\/[^"]+)"/.exec(page)?.[1] as string;
    // Paying: the gateway notifies sluice (POST), then sends the customer back (302).
    const paid = await fetch(`${gateway}${pay}`, { redirect: "manual" });
    expect(paid.status).toBe(302);
    const back = await fetch(paid.headers.get("location") as string, { redirect: "manual" });
    expect(back.status).toBe(303);
    expect(back.headers.get("location")).toBe(`/#/topup/orders/${id}`);
    const order = await orderOf(user, id);
    expect(order).toMatchObject({ state: "credited", amount: "35.00", currency: "CNY" });
    expect(order.units).toBe((3500 * cny.units_per) / 100);
    expect(await paidQuota(user)).toBe(order.units);
    // In the customer's history, with no provider reference.
    const history = await api(user.accessToken, "GET", "/api/payment/orders");
    expect(history.body.data.map((o: Json) => o.id)).toEqual([id]);
    expect(JSON.stringify(history.body)).not.toMatch(/trade_no|provider_ref/);
  });

  it("replayed three times, by POST and GET, and its return again: credited once", async () => {
    const user = await createUser({ paidUsd: 0 });
    const { id, gateway, ref } = await epayOrder(user);
    const signed = await notification(gateway, ref);
    const answers = [];
    for (const method of ["POST", "POST", "GET", "POST"] as const)
      answers.push(await notify(signed, method));
    expect(answers).toEqual(["success", "success", "success", "success"]);
    const back = await fetch(
      `${sluice.url}/api/payment/epay/return?${new URLSearchParams(signed)}`,
      { redirect: "manual" },
    );
    expect(back.status).toBe(303);
    const order = await orderOf(user, id);
    expect(order.state).toBe("credited");
    expect(await paidQuota(user)).toBe(order.units);
  });

  it("the return before the notification (out of order): credited once", async () => {
    const user = await createUser({ paidUsd: 0 });
    const { id, gateway, ref } = await epayOrder(user);
    const signed = await notification(gateway, ref);
    const back = await fetch(
      `${sluice.url}/api/payment/epay/return?${new URLSearchParams(signed)}`,
      { redirect: "manual" },
    );
    expect(back.headers.get("location")).toBe(`/#/topup/orders/${id}`);
    expect(await notify(signed)).toBe("success");
    const order = await orderOf(user, id);
    expect(order.state).toBe("credited");
    expect(await paidQuota(user)).toBe(order.units);
  });

  it("20 notifications at once: all answered success, credited once", async () => {
    const user = await createUser({ paidUsd: 0 });
    const { id, gateway, ref } = await epayOrder(user, 7000);
    const signed = await notification(gateway, ref);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => notify(signed, i % 4 ? "POST" : "GET")),
    );
    expect(new Set(answers)).toEqual(new Set(["success"]));
    const order = await orderOf(user, id);
    expect(order.state).toBe("credited");
    expect(await paidQuota(user)).toBe(order.units);
  });

  it("forged: a wrong sign, a changed amount, another pid: refused (fail), nothing credited", async () => {
    const user = await createUser({ paidUsd: 0 });
    const { id, gateway, ref } = await epayOrder(user);
    const forgeries = [
      ["sign:0123456789abcdef0123456789abcdef"],
      ["money:0.01"],
      ["money:350.00"],
      ["pid:9999"],
      ["trade_status:TRADE_CLOSED"],
    ];
    const answers = await Promise.all(
      forgeries.map(async (forge) => notify(await notification(gateway, ref, forge))),
    );
    expect(answers).toEqual(forgeries.map(() => "fail"));
    // A signature with nothing to sign, and a parameter sent twice, are refused too.
    const signed = await notification(gateway, ref);
    const twice = `${new URLSearchParams(signed)}&money=0.01`;
    const doubled = await fetch(`${sluice.url}/api/payment/epay/notify?${twice}`);
    expect(await doubled.text()).toBe("fail");
    expect(await notify({})).toBe("fail");
    expect((await orderOf(user, id)).state).toBe("pending");
    expect(await paidQuota(user)).toBe(0);
    // The real one still credits.
    expect(await notify(signed)).toBe("success");
    expect(await paidQuota(user)).toBe((await orderOf(user, id)).units);
  });

  it("a customer sees only their own orders; amounts outside the settings are refused", async () => {
    const [owner, other] = await Promise.all([createUser(), createUser()]);
    const { id } = await epayOrder(owner);
    const peek = await api(other.accessToken, "GET", `/api/payment/order/${id}`);
    expect(peek.status).toBe(404);
    expect(peek.body.success).toBe(false);
    expect((await api(other.accessToken, "GET", "/api/payment/orders")).body.data).toEqual([]);
    for (const amount_minor of [0, 1, 10 ** 9, 12.5, "35.00"]) {
      const refused = await api(owner.accessToken, "POST", "/api/payment/epay", { amount_minor });
      expect(refused.status, String(amount_minor)).toBe(400);
      expect(refused.body.success).toBe(false);
    }
    const wrongType = await api(owner.accessToken, "POST", "/api/payment/epay", {
      amount_minor: 3500,
      type: "bitcoin",
    });
    expect(wrongType.status).toBe(400);
  });

  it("the settings never show a secret; a customer may not read them", async () => {
    const user = await createUser();
    const path = "/api/site/sections/payments.epay";
    expect((await api(user.accessToken, "GET", path)).status).toBe(403);
    const view = await api(sluice.adminToken, "GET", path);
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    const section = JSON.stringify(view.body);
    expect(section).toContain('"key_set":true');
    expect(section).toContain(`"notify_url":"${sluice.url}/api/payment/epay/notify"`);
    const { gateway } = await epayOrder(user);
    expect(section).toContain(`"gateway":"${gateway}"`);
    // The demo gateway's key is 32 hex digits: no view holds such a value (nor a "key" field).
    const views = [
      section,
      JSON.stringify((await api(sluice.adminToken, "GET", "/api/site/sections")).body),
      JSON.stringify((await api(user.accessToken, "GET", "/api/payment/options")).body),
      JSON.stringify((await api(undefined, "GET", "/api/status")).body),
    ];
    for (const body of views) {
      expect(body).not.toMatch(/[0-9a-f]{32}/);
      expect(body).not.toMatch(/"key"\s*:/);
    }
  });
});

describe("The admin's orders", () => {
  const ADMIN_ORDERS = "/api/payment/admin/orders";
  const list = (query: Record<string, string>) =>
    api(sluice.adminToken, "GET", `${ADMIN_ORDERS}?${new URLSearchParams(query)}`);

  it("every user's, newest first, named, filtered by user (id or name), state and provider, paged", async () => {
    const user = await createUser({ paidUsd: 0 });
    const { username } = await admin("GET", `/api/user/${user.id}`);
    const paid = await epayOrder(user, 1200);
    expect(await notify(await notification(paid.gateway, paid.ref))).toBe("success");
    const second = await epayOrder(user, 1300);
    const third = await epayOrder(user, 1400);
    const month = new Date((await orderOf(user, third.id)).created_at * 1000)
      .toISOString()
      .slice(0, 7);
    const mine = await list({ month, user: user.id });
    expect(mine.status, JSON.stringify(mine.body)).toBe(200);
    expect(mine.body.data.map((o: Json) => o.id)).toEqual([third.id, second.id, paid.id]);
    expect(mine.body.data[2]).toMatchObject({
      user_id: user.id,
      user_name: username,
      ref: paid.ref,
      state: "credited",
      amount: "12.00",
      currency: "CNY",
      provider: "epay",
    });
    expect(mine.body.data[2].provider_ref).toBeTruthy();
    expect(mine.body).toMatchObject({ has_more: false, next_cursor: null });
    // By username, and by state and provider.
    const byName = await list({ month, user: username });
    expect(byName.body.data.map((o: Json) => o.id)).toEqual([third.id, second.id, paid.id]);
    const credited = await list({ month, user: username, state: "credited", provider: "epay" });
    expect(credited.body.data.map((o: Json) => o.id)).toEqual([paid.id]);
    expect((await list({ month, user: user.id, provider: "stripe" })).body.data).toEqual([]);
    expect((await list({ month, user: `nobody-${user.id}` })).body.data).toEqual([]);
    // Two at a time: the cursor goes on after the last of the page.
    const first = await list({ month, user: user.id, size: "2" });
    expect(first.body.data.map((o: Json) => o.id)).toEqual([third.id, second.id]);
    expect(first.body).toMatchObject({ has_more: true, next_cursor: second.ref });
    const next = await list({ month, user: user.id, size: "2", cursor: second.ref });
    expect(next.body.data.map((o: Json) => o.id)).toEqual([paid.id]);
    expect(next.body).toMatchObject({ has_more: false, next_cursor: null });
    // A username that begins like an id ("user_…") is still looked up as a name.
    const lookalike = `user_${Math.random().toString(36).slice(2, 8)}`;
    const made = await admin("POST", "/api/user", {
      username: lookalike,
      password: "a long password",
    });
    const theirs = await epayOrder({ id: made.id, accessToken: made.access_token });
    expect((await list({ month, user: lookalike })).body.data.map((o: Json) => o.id)).toEqual([
      theirs.id,
    ]);
  });

  it("bad filters are refused by code; a customer may not list or note", async () => {
    const user = await createUser({ paidUsd: 0 });
    const { ref } = await epayOrder(user);
    const refusals = [
      [{ state: "refunded" }, "field_not_one_of"],
      [{ provider: "paypal" }, "field_not_one_of"],
      [{ month: "2026-13" }, "order_month_invalid"],
      [{ cursor: "nonsense" }, "order_cursor_invalid"],
      [{ month: "2020-01", cursor: ref }, "order_cursor_invalid"],
      // Another user's order cannot go on a user's list.
      [{ user: sluice.adminUserId, cursor: ref }, "order_cursor_invalid"],
    ] as const;
    for (const [query, code] of refusals) {
      const answer = await list(query);
      expect(answer.status, JSON.stringify(query)).toBe(400);
      expect(answer.body).toMatchObject({ success: false, code });
    }
    expect((await api(user.accessToken, "GET", ADMIN_ORDERS)).status).toBe(403);
    expect((await api(user.accessToken, "GET", `${ADMIN_ORDERS}/${ref}`)).status).toBe(403);
    const noted = await api(user.accessToken, "POST", `${ADMIN_ORDERS}/${ref}/note`, { text: "x" });
    expect(noted.status).toBe(403);
    const other = ref.endsWith("0") ? "1" : "0";
    const missing = await api(
      sluice.adminToken,
      "GET",
      `${ADMIN_ORDERS}/${ref.slice(0, -1)}${other}`,
    );
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("order_not_found");
  });

  it("notes: shown with their author's name; 25 at once keep 20 and refuse the rest", async () => {
    const user = await createUser({ paidUsd: 0 });
    const { ref, id } = await epayOrder(user);
    const first = await api(sluice.adminToken, "POST", `${ADMIN_ORDERS}/${ref}/note`, {
      text: "Refunded 35.00 CNY by the gateway",
    });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const self = await admin("GET", "/api/user/self");
    const shown = await admin("GET", `${ADMIN_ORDERS}/${ref}`);
    expect(shown).toMatchObject({ id, ref, user_id: user.id, state: "pending" });
    expect(shown.notes).toEqual([
      expect.objectContaining({
        text: "Refunded 35.00 CNY by the gateway",
        by: self.id,
        by_name: self.username,
      }),
    ]);
    const burst = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        api(sluice.adminToken, "POST", `${ADMIN_ORDERS}/${ref}/note`, { text: `note ${i}` }),
      ),
    );
    const statuses = burst.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(19);
    expect(statuses.filter((status) => status === 409)).toHaveLength(6);
    expect(burst.find((answer) => answer.status === 409)?.body.code).toBe("order_notes_full");
    expect((await admin("GET", `${ADMIN_ORDERS}/${ref}`)).notes).toHaveLength(20);
    const empty = await api(sluice.adminToken, "POST", `${ADMIN_ORDERS}/${ref}/note`, {});
    expect(empty.status).toBe(400);
  });
});
