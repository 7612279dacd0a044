import { randomBytes } from "node:crypto";
import {
  CREDIT_GRACE_SECONDS,
  MOVES,
  NOTED_STATES,
  ORDER_PENDING_SECONDS,
  type OrderMove,
  type OrderState,
} from "../payments/lifecycle";
import { byCreation, orderKey, ordersByMonth, paymentEventKey, stripeIntentKey, TTL } from "./keys";
import { Schedule } from "./schedule";
import { ConditionFailed, type Item, setFields, type Table, type TransactOp } from "./table";

export type PaymentProvider = "stripe" | "epay";

/** One line of an order's history, for the admin: a move, a refund, a dispute. */
export interface OrderEvent {
  /** Unix seconds. */
  at: number;
  kind: string;
}

/**
 * A top-up bought online. Written (`created`) before the provider is called, so a payment
 * can always find it; its state moves only by the table of payments/lifecycle.ts. Amounts
 * are integers in the currency's minor units; `units` (the quota it buys) is fixed when it
 * is created, at the operator's rate of the time (`unitsPer`).
 */
export interface Order {
  id: string;
  userId: string;
  provider: PaymentProvider;
  /** EPay's `type` (alipay, wxpay…), or Stripe's methods when set. */
  method?: string;
  /** ISO 4217, upper case. */
  currency: string;
  amountMinor: number;
  units: number;
  /** Quota units per major unit of the currency, when it was created. */
  unitsPer: number;
  state: OrderState;
  /** Stripe's session id (`cs_…`), or EPay's `trade_no` once paid. */
  providerRef?: string;
  paymentIntent?: string;
  /** Where the customer pays, until the order is paid. */
  checkoutUrl?: string;
  /** Unix seconds. */
  createdAt: number;
  paidAt?: number;
  creditedAt?: number;
  /** When the janitor finishes it if its crediter stopped (set with `paid`). */
  creditDue?: number;
  /** When the janitor expires it if nobody pays. */
  expiresAt: number;
  /** Stripe's total refunded so far (replays and reordering converge on it). */
  refundedMinor?: number;
  dispute?: { status: string; amountMinor: number; at: number };
  /** The admin's notes (refunds, disputes), at most MAX_NOTES. */
  notes: { at: number; by: string; text: string }[];
  /** When each move, refund and dispute status last happened, oldest first. */
  events: OrderEvent[];
  /** When checked with the provider last (the return page's reconcile), unix seconds. */
  checkedAt?: number;
}

export const MAX_NOTES = 20;

/** What a verified notification says was paid. */
export interface VerifiedPayment {
  provider: PaymentProvider;
  /** Stripe's session id, or EPay's trade_no. */
  providerRef: string;
  amountMinor: number;
  currency: string;
  paymentIntent?: string;
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A new order id: 10 Crockford base32 characters of the time (ms), then 16 random ones, so
 * ids sort by creation and cannot be guessed.
 */
export function newOrderId(nowMs: number): string {
  const random = [...randomBytes(16)].map((byte) => CROCKFORD[byte % 32]).join("");
  return idTime(nowMs) + random;
}

/** An order id's first 10 characters: the time (ms) it was made, which ids sort by. */
function idTime(ms: number): string {
  let time = "";
  for (let n = ms, i = 0; i < 10; i++, n = Math.floor(n / 32)) time = CROCKFORD[n % 32] + time;
  return time;
}

const ORDER_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const REF = /^([A-Za-z0-9]{16})([0-9A-HJKMNP-TV-Z]{26})$/;

export const isOrderId = (id: string) => ORDER_ID.test(id);

/**
 * The reference a provider carries (EPay's out_trade_no, Stripe's client_reference_id): the
 * 16 characters of the user id after `user_`, then the order id, 42 letters and digits, so
 * the order is found without an index. A forged one gets nowhere: signatures are checked first.
 */
export function orderRef(order: Pick<Order, "userId" | "id">): string {
  return order.userId.slice("user_".length) + order.id;
}

export function parseOrderRef(ref: string): { userId: string; orderId: string } | undefined {
  const match = REF.exec(ref);
  return match ? { userId: `user_${match[1]}`, orderId: match[2] as string } : undefined;
}

/** What a conditional move found: the order as it now is, and whether this write moved it. */
export interface Moved {
  moved: boolean;
  order: Order;
}

/** A page of orders; `resumeAfter`, when more may follow: where the next page starts. */
export interface OrdersPage {
  orders: Order[];
  resumeAfter?: Order;
}

function ordersPage(page: { items: StoredOrder[]; resumeAfter?: StoredOrder }): OrdersPage {
  return {
    orders: page.items.map(toOrder),
    ...(page.resumeAfter && { resumeAfter: toOrder(page.resumeAfter) }),
  };
}

/** The most orders one page of a month's list reads (each a read unit or so, and time). */
export const MONTH_READ_BUDGET = 1_000;

export const monthOf = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 7);

export class Orders {
  constructor(private readonly table: Table) {}

  /** Writes a new order, `created`, with the janitor's entry that expires it if nobody pays. */
  async create(fields: Omit<Order, "state" | "notes" | "events" | "expiresAt">): Promise<Order> {
    const order: Order = {
      ...fields,
      state: "created",
      expiresAt: fields.createdAt + ORDER_PENDING_SECONDS,
      notes: [],
      events: [{ at: fields.createdAt, kind: "create" }],
    };
    await this.table.transact([
      {
        put: {
          ...orderKey(order.userId, order.id),
          gsi1pk: ordersByMonth(monthOf(order.createdAt)),
          gsi1sk: byCreation(order.createdAt, orderRef(order)),
          ...order,
          // Stored as maps (a move or a note sets one entry, no read first): see toOrder.
          events: { create: order.createdAt },
          notes: {},
          noteCount: 0,
        },
        condition: "attribute_not_exists(pk)",
      },
      Schedule.entry({ due: order.expiresAt, kind: "order.expire", id: orderRef(order) }),
    ]);
    return order;
  }

  async get(userId: string, orderId: string, consistent = true): Promise<Order | undefined> {
    const item = await this.table.get<StoredOrder>(orderKey(userId, orderId), consistent);
    return item && toOrder(item);
  }

  async byRef(ref: string): Promise<Order | undefined> {
    const parsed = parseOrderRef(ref);
    return parsed && this.get(parsed.userId, parsed.orderId);
  }

  /** A user's orders, newest first. */
  async listForUser(userId: string, limit: number): Promise<Order[]> {
    const { items } = await this.table.query<StoredOrder>({
      keyCondition: "pk = :pk",
      values: { ":pk": orderKey(userId, "").pk },
      ascending: false,
      limit,
    });
    return items.map(toOrder);
  }

  /**
   * One user's orders of a month (YYYY-MM), newest first, those `keep` keeps; after `after`
   * (an order of theirs, where the page before stopped) when given. Read from the user's own
   * partition, whose ids begin with their time: the month is a range of keys, and no other
   * user's order is read. At most MONTH_READ_BUDGET orders a page, as listMonth.
   */
  async listUserMonth(
    userId: string,
    month: string,
    limit: number,
    keep: (order: Order) => boolean = () => true,
    after?: Order,
  ): Promise<OrdersPage> {
    const [year, monthIndex] = month.split("-").map(Number) as [number, number];
    const from = idTime(Date.UTC(year, monthIndex - 1, 1));
    // "~" sorts after every character of an id: the range ends after the month's last ms.
    const to = `${idTime(Date.UTC(year, monthIndex, 1) - 1)}~`;
    const page = await this.table.keptItems<StoredOrder>(
      {
        keyCondition: "pk = :pk AND sk BETWEEN :from AND :to",
        values: { ":pk": orderKey(userId, "").pk, ":from": from, ":to": to },
        ascending: false,
        ...(after && { startKey: orderKey(after.userId, after.id) }),
      },
      limit,
      (item) => keep(toOrder(item)),
      MONTH_READ_BUDGET,
    );
    return ordersPage(page);
  }

  /**
   * Every user's orders of a month (YYYY-MM), newest first, those `keep` keeps; after `after`
   * (an order of that month, where the page before stopped) when given. A page reads at most
   * MONTH_READ_BUDGET orders: a filter that keeps few answers with fewer, and `resumeAfter`
   * (the last order read) for the next page.
   */
  async listMonth(
    month: string,
    limit: number,
    keep: (order: Order) => boolean = () => true,
    after?: Order,
  ): Promise<OrdersPage> {
    const page = await this.table.keptItems<StoredOrder>(
      {
        index: "gsi1",
        keyCondition: "gsi1pk = :pk",
        values: { ":pk": ordersByMonth(month) },
        ascending: false,
        ...(after && {
          startKey: {
            ...orderKey(after.userId, after.id),
            gsi1pk: ordersByMonth(monthOf(after.createdAt)),
            gsi1sk: byCreation(after.createdAt, orderRef(after)),
          },
        }),
      },
      limit,
      (item) => keep(toOrder(item)),
      MONTH_READ_BUDGET,
    );
    return ordersPage(page);
  }

  /**
   * Makes `move` if the order is in one of its `from` states, setting `fields` (null removes
   * one) and noting it in the order's events. Not moved: the order as it is.
   */
  async move(
    order: Pick<Order, "userId" | "id">,
    move: OrderMove,
    at: number,
    fields: Partial<Record<keyof Order, unknown>> = {},
  ): Promise<Moved> {
    try {
      const updated = await this.table.update<StoredOrder>(
        orderKey(order.userId, order.id),
        moveWrite(move, at, fields),
      );
      return { moved: true, order: toOrder(updated as StoredOrder) };
    } catch (err) {
      if (!(err instanceof ConditionFailed) || !err.item) throw err;
      return { moved: false, order: toOrder(err.item as StoredOrder) };
    }
  }

  /**
   * `pay`, with what makes the rest certain in the same transaction: the janitor's entry
   * that finishes crediting if this process stops (CREDIT_GRACE_SECONDS later), and the
   * PaymentIntent's link (refunds and disputes name only it).
   */
  async markPaid(order: Order, payment: VerifiedPayment, at: number): Promise<Moved> {
    const creditDue = at + CREDIT_GRACE_SECONDS;
    const ops: TransactOp[] = [
      {
        key: orderKey(order.userId, order.id),
        ...moveWrite(MOVES.pay, at, {
          paidAt: at,
          creditDue,
          providerRef: payment.providerRef,
          paymentIntent: payment.paymentIntent,
          checkoutUrl: null,
        }),
      },
      Schedule.entry({ due: creditDue, kind: "order.credit", id: orderRef(order) }),
    ];
    if (payment.paymentIntent)
      ops.push({
        put: { ...stripeIntentKey(payment.paymentIntent), userId: order.userId, orderId: order.id },
      });
    try {
      await this.table.transact(ops);
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      return { moved: false, order: await this.mustGet(order) };
    }
    return { moved: true, order: await this.mustGet(order) };
  }

  /** The janitor's entry of a credited order is done with (everything after `credited` ran). */
  async creditFinished(order: Order): Promise<void> {
    if (order.creditDue === undefined) return;
    await new Schedule(this.table).done({
      due: order.creditDue,
      kind: "order.credit",
      id: orderRef(order),
    });
  }

  /** The order a PaymentIntent paid, once `paid` linked it. */
  async byPaymentIntent(paymentIntent: string): Promise<Order | undefined> {
    const link = await this.table.get<{ userId: string; orderId: string }>(
      stripeIntentKey(paymentIntent),
      true,
    );
    return link && this.get(link.userId, link.orderId);
  }

  /**
   * Notes a refund (Stripe's total refunded so far) or a dispute on a paid order; the state
   * stays. Undefined when the order is in no state to note it on.
   */
  async note(
    order: Pick<Order, "userId" | "id">,
    at: number,
    change: { refundedMinor: number } | { dispute: NonNullable<Order["dispute"]> },
  ): Promise<Order | undefined> {
    const kind = "refundedMinor" in change ? "refund" : `dispute.${change.dispute.status}`;
    const set = setFields(change);
    // Notifications come in any order: Stripe's amount refunded only grows, and a dispute is as
    // its latest event (by the event's own time) says; an older one changes nothing.
    const newer =
      "refundedMinor" in change
        ? "(attribute_not_exists(refundedMinor) OR refundedMinor <= :newer)"
        : "(attribute_not_exists(dispute) OR dispute.#at <= :newer)";
    try {
      const item = await this.table.update<StoredOrder>(orderKey(order.userId, order.id), {
        update: `SET ${set.assignments.join(", ")}, events.#kind = :at`,
        condition: `#state IN (:s0, :s1) AND ${newer}`,
        names: {
          ...set.names,
          "#state": "state",
          "#kind": kind,
          ...("dispute" in change ? { "#at": "at" } : {}),
        },
        values: {
          ...set.values,
          ":s0": NOTED_STATES[0],
          ":s1": NOTED_STATES[1],
          ":at": at,
          ":newer": "refundedMinor" in change ? change.refundedMinor : change.dispute.at,
        },
        returnValues: "ALL_NEW",
      });
      return item && toOrder(item);
    } catch (err) {
      if (err instanceof ConditionFailed) return undefined;
      throw err;
    }
  }

  /** The admin's note; undefined when the order has MAX_NOTES already or does not exist. */
  async addNote(
    order: Pick<Order, "userId" | "id">,
    note: Order["notes"][number],
  ): Promise<Order | undefined> {
    const id = `${String(note.at).padStart(12, "0")}${randomBytes(3).toString("hex")}`;
    try {
      const item = await this.table.update<StoredOrder>(orderKey(order.userId, order.id), {
        update: "SET notes.#id = :note, noteCount = noteCount + :one",
        // Not there yet: a retry of a note that landed (its answer lost) must not count it twice.
        condition: "attribute_exists(pk) AND noteCount < :max AND attribute_not_exists(notes.#id)",
        names: { "#id": id },
        values: { ":note": note, ":one": 1, ":max": MAX_NOTES },
        returnValues: "ALL_NEW",
        explainFailure: true,
      });
      return item && toOrder(item);
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      const landed = (err.item as StoredOrder | undefined)?.notes?.[id] !== undefined;
      return landed ? toOrder(err.item as StoredOrder) : undefined;
    }
  }

  /** Binds the provider's session or URL to a `created` order (or notes a reconcile's check). */
  async setFields(order: Pick<Order, "userId" | "id">, fields: Partial<Order>): Promise<void> {
    const set = setFields(fields);
    await this.table.update(orderKey(order.userId, order.id), {
      update: `SET ${set.assignments.join(", ")}`,
      condition: "attribute_exists(pk)",
      names: set.names,
      values: set.values,
    });
  }

  /** Whether a provider's event was applied already (the event is recorded after it is). */
  async eventSeen(provider: PaymentProvider, eventId: string): Promise<boolean> {
    return (await this.table.get(paymentEventKey(provider, eventId), true)) !== undefined;
  }

  async recordEvent(provider: PaymentProvider, eventId: string, at: number): Promise<void> {
    await this.table.put({
      ...paymentEventKey(provider, eventId),
      at,
      ttl: TTL.paymentEvent(at),
    });
  }

  private async mustGet(order: Pick<Order, "userId" | "id">): Promise<Order> {
    const found = await this.get(order.userId, order.id);
    if (!found) throw new Error(`Order ${order.id} vanished`);
    return found;
  }
}

/** The conditional write of a move: from its states only, with its fields and an event. */
function moveWrite(move: OrderMove, at: number, fields: Partial<Record<keyof Order, unknown>>) {
  const set = setFields({ ...fields, state: move.to }, { removeNull: true });
  const from = move.from.map((_, i) => `:from${i}`);
  return {
    update: `SET ${set.assignments.join(", ")}, events.#kind = :at${
      set.removals.length ? ` REMOVE ${set.removals.join(", ")}` : ""
    }`,
    condition: `#state IN (${from.join(", ")})`,
    names: { ...set.names, "#state": "state", "#kind": move.name },
    values: {
      ...set.values,
      ...Object.fromEntries(move.from.map((state, i) => [`:from${i}`, state])),
      ":at": at,
    },
    returnValues: "ALL_NEW" as const,
    explainFailure: true,
  };
}

/**
 * An order as stored: its events a map of kind → when it last happened (each move happens
 * once; a refund or dispute keeps its latest), its notes a map by time, with their count (the
 * cap's condition), so that a write adds one without reading the order first.
 */
type StoredOrder = Omit<Order, "events" | "notes"> &
  Item & { events: Record<string, number>; notes: Record<string, Order["notes"][number]> };

function toOrder(item: StoredOrder): Order {
  const {
    pk: _pk,
    sk: _sk,
    gsi1pk: _gp,
    gsi1sk: _gs,
    noteCount: _n,
    events,
    notes,
    ...order
  } = item;
  return {
    ...order,
    events: Object.entries(events ?? {})
      .map(([kind, at]) => ({ kind, at }))
      .sort((a, b) => a.at - b.at),
    notes: Object.keys(notes ?? {})
      .sort()
      .map((key) => notes[key] as Order["notes"][number]),
  } as Order;
}
