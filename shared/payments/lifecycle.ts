/**
 * An order's life, as one table of moves. Every change of state is one of these moves, made
 * by one conditional write whose condition names the states it may start from: two
 * notifications (or a notification and the janitor) can never both make the same move.
 *
 * A verified payment is never refused for being late: `pay` starts from `expired` and
 * `failed` too. `mismatch` (a verified payment of another amount or currency) is never
 * credited automatically; the admin sees it. Refunds and disputes do not move the state:
 * they are noted on a `paid` or `credited` order (the quota may be spent already).
 */
export const ORDER_STATES = [
  "created",
  "pending",
  "processing",
  "paid",
  "credited",
  "mismatch",
  "failed",
  "expired",
] as const;
export type OrderState = (typeof ORDER_STATES)[number];

export interface OrderMove {
  name: string;
  from: readonly OrderState[];
  to: OrderState;
}

export const MOVES = {
  /** The provider's session or URL exists (its reference and URL are stored with it). */
  bind: { name: "bind", from: ["created"], to: "pending" },
  /** Stripe: the session completed, the payment not yet (delayed methods). */
  processing: { name: "processing", from: ["pending"], to: "processing" },
  /** A verified payment of the order's amount and currency. */
  pay: { name: "pay", from: ["created", "pending", "processing", "expired", "failed"], to: "paid" },
  /** A verified payment of another amount or currency. */
  mismatch: {
    name: "mismatch",
    from: ["created", "pending", "processing", "expired", "failed"],
    to: "mismatch",
  },
  /** Its quota is in the ledger. */
  credit: { name: "credit", from: ["paid"], to: "credited" },
  /** Stripe: the delayed payment failed. */
  fail: { name: "fail", from: ["pending", "processing"], to: "failed" },
  /** Never paid: the session expired, or the janitor after ORDER_PENDING_SECONDS. */
  expire: { name: "expire", from: ["created", "pending"], to: "expired" },
} as const satisfies Record<string, OrderMove>;

/** States in which a refund or a dispute may be noted on an order. */
export const NOTED_STATES: readonly OrderState[] = ["paid", "credited"];

/** An order nobody paid is expired by the janitor this long after it was created. */
export const ORDER_PENDING_SECONDS = 24 * 3600;

/** The janitor finishes a `paid` order this long after it was paid (its crediter stopped). */
export const CREDIT_GRACE_SECONDS = 120;
