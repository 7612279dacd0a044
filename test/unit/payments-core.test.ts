import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../shared/auth/secrets";
import { runJanitor } from "../../shared/janitor/sweep";
import { formatMinor, parseMinor, unitsFor } from "../../shared/payments/amounts";
import { creditVerifiedPayment, OrderUnknown } from "../../shared/payments/credit";
import { CREDIT_GRACE_SECONDS, ORDER_PENDING_SECONDS } from "../../shared/payments/lifecycle";
import { epay } from "../../shared/site/sections/epay";
import { stripe } from "../../shared/site/sections/stripe";
import { type DynamoOperation, DynamoServiceError } from "../../shared/store/dynamo-transport";
import {
  newOrderId,
  type Order,
  orderRef,
  parseOrderRef,
  type VerifiedPayment,
} from "../../shared/store/orders";
import { newUserProfile } from "../../shared/store/users";
import { type Core, startCore } from "../fixtures/core";
import { MemoryDynamo } from "../fixtures/memory-dynamo/memory-dynamo";

/**
 * Crediting a paid order exactly once, on the in-process core (DynamoDB in memory, whose
 * conditional writes are DynamoDB's: fixtures/dynamo-contract.ts): bursts of the same
 * notification, notifications out of order, forged amounts, and the transport failing each
 * write of the chain in turn. The provider's own checks (signatures) are C2's and C3's tests;
 * here a payment is one the provider vouched for.
 */

type Fault = (
  operation: DynamoOperation,
  input: Record<string, unknown>,
) => "before" | "after" | undefined;

/** DynamoDB in memory that fails the writes a test picks: before they land, or after (a lost answer). */
class FaultyDynamo extends MemoryDynamo {
  faults: Fault[] = [];

  override async send(operation: DynamoOperation, input: Record<string, unknown>) {
    const when = this.faults.map((fault) => fault(operation, input)).find(Boolean);
    if (when === "before") throw outage();
    const out = await super.send(operation, input);
    if (when === "after") throw outage();
    return out;
  }
}

const outage = () =>
  new DynamoServiceError("InternalServerError", "injected", undefined, undefined, {
    httpStatusCode: 500,
  });

/** A fault that fires once, on the first request `matches` picks. */
function once(
  when: "before" | "after",
  matches: (operation: DynamoOperation, text: string) => boolean,
): Fault {
  let fired = false;
  return (operation, input) => {
    if (fired || !matches(operation, JSON.stringify(input))) return undefined;
    fired = true;
    return when;
  };
}

const isTopUp = (operation: DynamoOperation, text: string) =>
  operation === "UpdateItem" && text.includes('"ACCOUNT"') && text.includes('"g_');
const isCreditMove = (operation: DynamoOperation, text: string) =>
  operation === "UpdateItem" && text.includes('#ORDERS"') && text.includes('"credited"');

const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"]);

let core: Core;
let dynamo: FaultyDynamo;

beforeAll(async () => {
  dynamo = new FaultyDynamo();
  core = await startCore({ dynamo });
});

async function newUser(): Promise<string> {
  const id = newId("user_", 16);
  await core.services.users.create(newUserProfile({ id, name: `buyer${newId("", 6)}` }));
  return id;
}

async function newOrder(fields: Partial<Order> = {}): Promise<Order> {
  const userId = fields.userId ?? (await newUser());
  return core.services.orders.create({
    id: newOrderId(Date.now()),
    userId,
    provider: "epay",
    currency: "CNY",
    amountMinor: 3500,
    unitsPer: 75_000,
    units: unitsFor(3500, "CNY", 75_000),
    createdAt: core.services.clock.seconds(),
    ...fields,
  });
}

const paymentOf = (order: Order, change: Partial<VerifiedPayment> = {}): VerifiedPayment => ({
  provider: order.provider,
  providerRef: `trade_${order.id}`,
  amountMinor: order.amountMinor,
  currency: order.currency,
  ...change,
});

const refOf = (order: Order) => ({ userId: order.userId, orderId: order.id });

const credit = (order: Order, change: Partial<VerifiedPayment> = {}) =>
  creditVerifiedPayment(core.services, refOf(order), paymentOf(order, change), "req_test");

async function paidBalance(userId: string): Promise<number> {
  return (await core.services.accounts.get(userId, true))?.balances.paid ?? 0;
}

/** The user's top-up lines in the usage log. */
function topUpLines(userId: string) {
  return core.dynamo
    .items("sluice-log")
    .filter((item) => item.pk?.S === `USER#${userId}#LOG` && item.type?.S === "topup");
}

/** How many grants (g_<ref> attributes) the account holds or folded: one per credited order. */
async function grantsOf(userId: string): Promise<number> {
  const item = await core.table.get({ pk: `USER#${userId}`, sk: "ACCOUNT" }, true);
  return Object.keys(item ?? {}).filter((name) => name.startsWith("g_")).length;
}

const stateOf = async (order: Order) =>
  (await core.services.orders.get(order.userId, order.id))?.state;

async function expectCreditedOnce(order: Order) {
  expect(await stateOf(order)).toBe("credited");
  expect(await paidBalance(order.userId)).toBe(order.units);
  expect(await grantsOf(order.userId)).toBe(1);
  expect(topUpLines(order.userId)).toHaveLength(1);
}

/** The janitor's sweep at `seconds` from now. */
const sweepAt = (seconds: number) =>
  runJanitor(core.services, core.services.clock.seconds() + seconds);

describe("a verified payment is credited once", () => {
  it("50 identical notifications at once: one grant, one credited, one log line", async () => {
    const order = await newOrder();
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => credit(order)));
    expect(new Set(outcomes)).toEqual(new Set(["credited"]));
    await expectCreditedOnce(order);
    expect(order.units).toBe(2_625_000); // ¥35.00 at $0.15 per ¥1: $5.25
  });

  it("a notification long after: credited still, no write", async () => {
    const order = await newOrder();
    await credit(order);
    const requests = await core.requestsDuring(() => credit(order));
    expect(requests.filter((op) => WRITES.has(op))).toEqual([]);
    await expectCreditedOnce(order);
  });

  it("an order expired before its payment arrives is credited (a late payment is never refused)", async () => {
    const order = await newOrder();
    await sweepAt(ORDER_PENDING_SECONDS + 1);
    expect(await stateOf(order)).toBe("expired");
    expect(await credit(order)).toBe("credited");
    await expectCreditedOnce(order);
  });

  it("a failed order paid after all is credited", async () => {
    const order = await newOrder({ provider: "stripe", currency: "USD", amountMinor: 500 });
    const { orders } = core.services;
    const at = core.services.clock.seconds();
    await orders.setFields(order, { providerRef: "cs_test" });
    expect(
      (await orders.move(order, { name: "bind", from: ["created"], to: "pending" }, at)).moved,
    ).toBe(true);
    expect(
      (await orders.move(order, { name: "fail", from: ["pending"], to: "failed" }, at)).moved,
    ).toBe(true);
    expect(await credit(order, { providerRef: "cs_test" })).toBe("credited");
    await expectCreditedOnce(order);
  });

  it("two orders of one user, paid at once, in a burst each: both credited, each once", async () => {
    const first = await newOrder();
    const second = await newOrder({ userId: first.userId, amountMinor: 7000, units: 5_250_000 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => credit(i % 2 ? first : second)));
    expect(await paidBalance(first.userId)).toBe(first.units + second.units);
    expect(await grantsOf(first.userId)).toBe(2);
  });

  it("an order that does not exist: OrderUnknown (the provider tries again), nothing written", async () => {
    const order = await newOrder();
    const ghost = { ...order, id: newOrderId(Date.now()) };
    const requests = await core.requestsDuring(() =>
      expect(credit(ghost)).rejects.toBeInstanceOf(OrderUnknown),
    );
    expect(requests.filter((op) => WRITES.has(op))).toEqual([]);
  });
});

describe("forged or wrong payments are never credited", () => {
  it.each([
    ["a smaller amount", { amountMinor: 1 }],
    ["a larger amount", { amountMinor: 350_000 }],
    ["another currency", { currency: "USD" }],
    ["another provider", { provider: "stripe" as const }],
  ])("%s: mismatch, no grant, and a right payment after it changes nothing", async (_, change) => {
    const order = await newOrder();
    expect(await credit(order, change)).toBe("mismatch");
    expect(await stateOf(order)).toBe("mismatch");
    expect(await credit(order)).toBe("mismatch");
    expect(await paidBalance(order.userId)).toBe(0);
    expect(await grantsOf(order.userId)).toBe(0);
    expect(topUpLines(order.userId)).toHaveLength(0);
  });

  it("a burst of right and wrong amounts: at most one grant, and the order says which won", async () => {
    const order = await newOrder();
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => credit(order, i % 3 ? {} : { amountMinor: 1 })),
    );
    const state = await stateOf(order);
    expect(["credited", "mismatch"]).toContain(state);
    // Once credited, a wrong amount is reported, but never undoes or repeats the credit.
    expect(await grantsOf(order.userId)).toBe(state === "credited" ? 1 : 0);
    expect(outcomes).toContain("mismatch");
  });

  it("a right payment first: credited once; a wrong one after it is reported, the credit stands", async () => {
    const order = await newOrder();
    expect(await credit(order)).toBe("credited");
    expect(await credit(order, { amountMinor: 1 })).toBe("mismatch");
    expect(await stateOf(order)).toBe("credited");
    expect(await grantsOf(order.userId)).toBe(1);
    expect(await paidBalance(order.userId)).toBe(order.units);
  });
});

describe("faults: every write of the chain fails in turn", () => {
  it("`credited` fails once: the janitor's pass finishes it and grants nothing twice", async () => {
    const order = await newOrder();
    dynamo.faults = [once("before", isCreditMove)];
    await expect(credit(order)).rejects.toThrow();
    expect(await stateOf(order)).toBe("paid");
    expect(await grantsOf(order.userId)).toBe(1);
    // Too early: a crediter may still be at work.
    await sweepAt(CREDIT_GRACE_SECONDS - 5);
    expect(await stateOf(order)).toBe("paid");
    await sweepAt(CREDIT_GRACE_SECONDS + 1);
    await expectCreditedOnce(order);
    // And a later sweep, and a replay, change nothing.
    await sweepAt(CREDIT_GRACE_SECONDS + 60);
    expect(await credit(order)).toBe("credited");
    await expectCreditedOnce(order);
  });

  it("the top-up's answer is lost after it landed: one grant", async () => {
    const order = await newOrder();
    dynamo.faults = [once("after", isTopUp)];
    await expect(credit(order)).rejects.toThrow();
    expect(await stateOf(order)).toBe("paid");
    expect(await paidBalance(order.userId)).toBe(order.units);
    // The provider tries again.
    expect(await credit(order)).toBe("credited");
    await expectCreditedOnce(order);
  });

  it("a crash between `paid` and the top-up: the janitor credits within its next pass", async () => {
    const order = await newOrder();
    dynamo.faults = [once("before", isTopUp)];
    await expect(credit(order)).rejects.toThrow();
    expect(await stateOf(order)).toBe("paid");
    expect(await paidBalance(order.userId)).toBe(0);
    await sweepAt(CREDIT_GRACE_SECONDS + 1);
    await expectCreditedOnce(order);
  });

  it("the same crash, then a replay and the janitor at once: credited once", async () => {
    const order = await newOrder();
    dynamo.faults = [once("before", isTopUp)];
    await expect(credit(order)).rejects.toThrow();
    await Promise.all([credit(order), sweepAt(CREDIT_GRACE_SECONDS + 1), credit(order)]);
    await expectCreditedOnce(order);
  });

  it("`paid` itself fails: nothing written, and the retry credits", async () => {
    const order = await newOrder();
    dynamo.faults = [once("before", (op) => op === "TransactWriteItems")];
    await expect(credit(order)).rejects.toThrow();
    expect(await stateOf(order)).toBe("created");
    await sweepAt(CREDIT_GRACE_SECONDS + 1);
    expect(await grantsOf(order.userId)).toBe(0);
    expect(await credit(order)).toBe("credited");
    await expectCreditedOnce(order);
  });
});

describe("the janitor expires orders nobody paid", () => {
  it("after 24 h only, and never one that is paid", async () => {
    const unpaid = await newOrder();
    const paid = await newOrder();
    await credit(paid);
    await sweepAt(ORDER_PENDING_SECONDS - 10);
    expect(await stateOf(unpaid)).toBe("created");
    await sweepAt(ORDER_PENDING_SECONDS + 1);
    expect(await stateOf(unpaid)).toBe("expired");
    expect(await stateOf(paid)).toBe("credited");
  });
});

describe("orders' ids and references", () => {
  it("ids sort by creation, and a reference names the user and the order", async () => {
    const early = newOrderId(1_700_000_000_000);
    const late = newOrderId(1_700_000_000_001);
    expect(early < late).toBe(true);
    expect(early).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const order = await newOrder();
    const ref = orderRef(order);
    expect(ref).toMatch(/^[A-Za-z0-9]{42}$/);
    expect(parseOrderRef(ref)).toEqual({ userId: order.userId, orderId: order.id });
    expect(parseOrderRef(`${ref}x`)).toBeUndefined();
    expect(parseOrderRef(ref.replace(/.$/, "U"))).toBeUndefined(); // U is not Crockford's
    expect(await core.services.orders.byRef(ref)).toMatchObject({ id: order.id, state: "created" });
  });
});

describe("the admin's list of a month", () => {
  it("newest first, in pages after the last one: every order of the month once", async () => {
    const userId = await newUser();
    // A month of its own (March 2031), and an order of the month after, which is left out.
    const march = Date.UTC(2031, 2, 1) / 1000;
    const made: Order[] = [];
    for (const day of [3, 1, 20, 9, 31])
      made.push(await newOrder({ userId, createdAt: march + (day - 1) * 86_400 }));
    await newOrder({ userId, createdAt: Date.UTC(2031, 3, 1) / 1000 });
    const mine = (order: Order) => order.userId === userId;
    const seen: string[] = [];
    let after: Order | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = await core.services.orders.listMonth("2031-03", 2, mine, after);
      seen.push(...page.orders.map((order) => order.id));
      after = page.resumeAfter;
      if (!after) break;
    }
    const newestFirst = [...made].sort((a, b) => b.createdAt - a.createdAt);
    expect(seen).toEqual(newestFirst.map((order) => order.id));
  });
});

describe("amounts in minor units, never through a float", () => {
  it.each([
    ["19.99", "USD", 1999],
    ["5", "USD", 500],
    ["5.00", "CNY", 500],
    ["5.5", "CNY", 550],
    ["0.01", "CNY", 1],
    ["0", "USD", 0],
    ["500", "JPY", 500],
    ["1.234", "KWD", 1234],
  ])("%s %s → %d", (text, currency, minor) => {
    expect(parseMinor(text, currency)).toBe(minor);
  });

  it.each([
    "0.001",
    "1e21",
    "1e3",
    "-5",
    "+5",
    " 5",
    "5 ",
    "05",
    "5.",
    ".5",
    "",
    "5,00",
    "0x10",
    "Infinity",
    "NaN",
    "1.5.0",
    "10000000000000",
    "١٢",
  ])("%j is refused", (text) => {
    expect(parseMinor(text, "USD")).toBeUndefined();
  });

  it("a yen has no decimals", () => {
    expect(parseMinor("5.0", "JPY")).toBeUndefined();
    expect(formatMinor(500, "JPY")).toBe("500");
  });

  it("formats minor units back exactly", () => {
    expect(formatMinor(500, "CNY")).toBe("5.00");
    expect(formatMinor(7, "CNY")).toBe("0.07");
    expect(formatMinor(123_456_789_012, "USD")).toBe("1234567890.12");
    expect(() => formatMinor(1.5, "USD")).toThrow();
    expect(() => formatMinor(-1, "USD")).toThrow();
  });

  it("the operator's rate is exact: ¥35 at 75,000 units per ¥1, $5 at 500,000 per $1", () => {
    expect(unitsFor(3500, "CNY", 75_000)).toBe(2_625_000);
    expect(unitsFor(500, "USD", 500_000)).toBe(2_500_000);
    expect(unitsFor(1, "CNY", 75_000)).toBe(750);
    // Rounded down, and exact past 2^53 in the product.
    expect(unitsFor(999_999_999_999, "USD", 500_000)).toBe(4_999_999_999_995_000);
    expect(unitsFor(1, "USD", 33)).toBe(0);
  });

  it("fuzzed: every well-formed string parses as the float would round it, and formats back", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 5_000; i++) {
      const whole = String(Math.floor(random() * 10 ** Math.floor(random() * 9)));
      const decimals = Math.floor(random() * 3);
      const fraction = Array.from({ length: decimals }, () => Math.floor(random() * 10)).join("");
      const text = decimals ? `${whole}.${fraction}` : whole;
      const minor = parseMinor(text, "USD");
      expect(minor, text).toBe(Math.round(Number.parseFloat(text) * 100));
      expect(parseMinor(formatMinor(minor as number, "USD"), "USD")).toBe(minor);
    }
  });
});

describe("the payment sections refuse a provider enabled before it can work", () => {
  it("Stripe without its secrets, EPay without its key, either without the site's origin", async () => {
    const { siteOptions } = core.services;
    await expect(
      siteOptions.update({ "payments.stripe": { enabled: true } }),
    ).rejects.toMatchObject({
      code: "payment_provider_incomplete",
    });
    await expect(
      siteOptions.update({
        "payments.epay": { enabled: true, gateway: "https://pay.example", pid: "1" },
      }),
    ).rejects.toMatchObject({ code: "payment_provider_incomplete" });
    // Everything saved, but the core has no SLUICE_PUBLIC_ORIGIN: notify URLs cannot be made.
    await expect(
      siteOptions.update({
        "payments.epay": { enabled: true, gateway: "https://pay.example", pid: "1", key: "k" },
      }),
    ).rejects.toMatchObject({ code: "payments_need_public_origin" });
    await expect(
      siteOptions.update({
        "payments.epay": { enabled: true, gateway: "http://pay.example", pid: "1", key: "k" },
      }),
    ).rejects.toMatchObject({ code: "payment_setting_invalid" });
    const site = await siteOptions.read();
    expect(site.of(stripe).enabled).toBe(false);
    expect(site.of(epay).enabled).toBe(false);
    expect(site.secretSet(epay, "key")).toBe(false);
  });
});
