/**
 * `sluice orders …`: top-ups bought online, every customer's (the console's Orders page,
 * admin): list, one in full, and the admin's note (a refund or dispute handled).
 */
import { UsageError } from "../args";
import { type Commands, type Data, segment, wholeNumber } from "../command";
import { userId } from "./users";

const ORDER_COLUMNS = [
  "ref",
  "created_at",
  "user_name",
  "amount",
  "currency",
  "quota_dollar",
  "provider",
  "method",
  "state",
  "paid_at",
] as const;

/** Times as ISO in UTC, readable in a table. */
const iso = (seconds: number | null) =>
  seconds ? new Date(seconds * 1000).toISOString().replace(".000Z", "Z") : null;

const readable = (order: Data) => ({
  ...order,
  created_at: iso(order.created_at),
  paid_at: iso(order.paid_at),
});

/** The order's reference, as `orders list` prints it (its first column). */
function needRef(args: string[], command: string): string {
  const ref = args[0];
  if (!ref)
    throw new UsageError(
      `${command} needs an order's ref (the first column of \`sluice orders list\`).`,
    );
  return ref;
}

/** One order in full: its row, then what the console's details show. */
function printOrder(
  print: (data: unknown, columns?: readonly string[]) => void,
  line: (text: string) => void,
  order: Data,
) {
  print(readable(order), [...ORDER_COLUMNS, "provider_ref", "refunded_minor"]);
  if (order.dispute)
    line(`Dispute: ${order.dispute.status} (${order.dispute.amountMinor} minor units)`);
  for (const event of order.events as Data[]) line(`${iso(event.at)}  ${event.kind}`);
  for (const note of order.notes as Data[])
    line(`${iso(note.at)}  note by ${note.by_name ?? note.by}: ${note.text}`);
}

export const orders: Commands = {
  "orders list": {
    summary: "top-ups bought online, newest first, of a month (this one by default)",
    usage:
      "sluice orders list [--month YYYY-MM] [--user U] [--state S] [--provider stripe|epay] [--limit N]",
    options: {
      month: { type: "string" },
      user: { type: "string" },
      state: { type: "string" },
      provider: { type: "string" },
      limit: { type: "string", default: "50" },
    },
    maxArgs: 0,
    run: async (ctx) => {
      const limit = wholeNumber(ctx.string("limit"), "--limit") as number;
      if (limit < 1) throw new UsageError("--limit must be 1 or more.");
      const query = new URLSearchParams();
      const ref = ctx.string("user");
      if (ref !== undefined) query.set("user", await userId(ctx, ref));
      for (const name of ["month", "state", "provider"]) {
        const value = ctx.string(name);
        if (value !== undefined) query.set(name, value);
      }
      const found: Data[] = [];
      // A page at a time (200 at most each) until the limit, or the month ends.
      for (let cursor: string | null = null; found.length < limit; ) {
        query.set("size", String(Math.min(200, limit - found.length)));
        if (cursor) query.set("cursor", cursor);
        const answer = await ctx.request("GET", `/api/payment/admin/orders?${query}`);
        found.push(...answer.data);
        cursor = answer.next_cursor;
        if (!cursor) break;
      }
      ctx.print(ctx.options.json ? found : found.map(readable), ORDER_COLUMNS);
    },
  },
  "orders show": {
    summary: "one order in full: the provider's reference, refunds, disputes, history and notes",
    usage: "sluice orders show <ref>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const ref = needRef(ctx.args, "orders show");
      const order = await ctx.call("GET", `/api/payment/admin/orders/${segment(ref)}`);
      if (ctx.options.json) return ctx.print(order);
      printOrder(ctx.print, ctx.line, order);
    },
  },
  "orders note": {
    summary:
      "the admin's note on an order (a refund or dispute handled); an order keeps 20 at most",
    usage: "sluice orders note <ref> <text>",
    options: {},
    maxArgs: 2,
    run: async (ctx) => {
      const ref = needRef(ctx.args, "orders note");
      const text = ctx.args[1];
      if (!text?.trim()) throw new UsageError("orders note needs the note's text after the ref.");
      const order = await ctx.call("POST", `/api/payment/admin/orders/${segment(ref)}/note`, {
        text,
      });
      if (ctx.options.json) return ctx.print(order);
      const count = order.notes.length;
      ctx.line(`Noted on order ${ref} (${count} ${count === 1 ? "note" : "notes"}).`);
    },
  },
};
