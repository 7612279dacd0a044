/**
 * The admin's orders filtered by one user read that user's orders of the month and nothing
 * else (store/orders.ts listUserMonth): their ids begin with the time they were made, so the
 * month is a range of keys in the user's own partition — the month's index, every user's
 * orders, is not scanned for a few of them. On DynamoDB in memory.
 */
import { describe, expect, it } from "vitest";
import { MONTH_READ_BUDGET, newOrderId, type Order, Orders } from "../../shared/store/orders";
import { Table } from "../../shared/store/table";
import { MemoryDynamo } from "../fixtures/memory-dynamo/memory-dynamo";

const dynamo = new MemoryDynamo();
const orders = new Orders(new Table(dynamo, "sluice"));

async function orderAt(userId: string, ms: number, provider = "epay"): Promise<Order> {
  return orders.create({
    id: newOrderId(ms),
    userId,
    provider,
    currency: "CNY",
    amountMinor: 1000,
    unitsPer: 1,
    units: 1000,
    createdAt: Math.floor(ms / 1000),
  } as Parameters<Orders["create"]>[0]);
}

describe("one user's orders of a month", () => {
  it("are their orders of that month only, newest first, paged, read from their partition", async () => {
    const [me, other] = ["user_AAAAAAAAAAAAAAAA", "user_BBBBBBBBBBBBBBBB"];
    const november = Date.UTC(2026, 10, 1);
    const december = Date.UTC(2026, 11, 1);
    // The month's first and last millisecond, one in between (by Stripe), and either side.
    const first = await orderAt(me, november);
    const middle = await orderAt(me, november + 14 * 86_400_000, "stripe");
    const last = await orderAt(me, december - 1);
    await orderAt(me, november - 1);
    await orderAt(me, december);
    for (let i = 0; i < 30; i++) await orderAt(other, november + i * 3_600_000);

    const before = dynamo.log.length;
    const page = await orders.listUserMonth(me, "2026-11", 2);
    expect(page.orders.map((o) => o.id)).toEqual([last.id, middle.id]);
    expect(page.resumeAfter?.id).toBe(middle.id);
    const rest = await orders.listUserMonth(me, "2026-11", 2, undefined, page.resumeAfter);
    expect(rest.orders.map((o) => o.id)).toEqual([first.id]);
    expect(rest.resumeAfter).toBeUndefined();
    const byStripe = await orders.listUserMonth(me, "2026-11", 50, (o) => o.provider === "stripe");
    expect(byStripe.orders.map((o) => o.id)).toEqual([middle.id]);
    expect(await orders.listUserMonth(other, "2026-10", 50)).toEqual({ orders: [] });

    // Queries of the user's own partition, and nothing else: no index, no batch of reads.
    const made = dynamo.log.slice(before);
    expect(new Set(made.map((entry) => entry.operation))).toEqual(new Set(["Query"]));
    for (const { input } of made) expect(input.IndexName).toBeUndefined();
  });
});

describe("every user's orders of a month, filtered to few", () => {
  it("answer in pages of at most MONTH_READ_BUDGET reads, each going on where the last stopped", async () => {
    const january = Date.UTC(2027, 0, 1);
    // The oldest of the month is the one Stripe order; newer ones (read first) are EPay's.
    const wanted = await orderAt("user_CCCCCCCCCCCCCCCC", january, "stripe");
    for (let i = 1; i <= MONTH_READ_BUDGET + 20; i++)
      await orderAt(`user_D${String(i).padStart(15, "0")}`, january + i * 1000);
    const stripe = (o: Order) => o.provider === "stripe";
    const found: string[] = [];
    let after: Order | undefined;
    let pages = 0;
    for (;;) {
      const before = dynamo.log.length;
      const page = await orders.listMonth("2027-01", 50, stripe, after);
      pages++;
      // No page reads (much) more than the budget: the index's keys, then the items.
      const keys = dynamo.log
        .slice(before)
        .filter((entry) => entry.operation === "Query")
        .reduce((n, entry) => n + Number(entry.input.Limit ?? 0), 0);
      expect(keys).toBeLessThanOrEqual(MONTH_READ_BUDGET);
      found.push(...page.orders.map((o) => o.id));
      if (!page.resumeAfter) break;
      after = page.resumeAfter;
    }
    expect(found).toEqual([wanted.id]);
    expect(pages).toBe(2);
  });
});
