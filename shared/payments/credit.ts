import { NotFound } from "../errors";
import { rewardInvitationAfterPaidOrder } from "../growth/first-paid";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import type { Order, VerifiedPayment } from "../store/orders";
import { MOVES } from "./lifecycle";

/** A verified payment for an order sluice cannot find: the provider is asked to try again. */
export class OrderUnknown extends NotFound {
  constructor(readonly ref: string) {
    super(msg("order_unknown", { ref }));
  }
}

export type CreditOutcome = "credited" | "mismatch";

/**
 * Moves a verified payment to credited exactly once, whatever came before; safe to call
 * again, at once, in any order. The order's state is the durable once-guard: `paid` is one
 * conditional write (with the janitor's entry that finishes the rest if this process stops),
 * the ledger's `order:<id>` reference makes the top-up once however often it is sent, and
 * `credited` is one more conditional write. A payment of another amount or currency makes the
 * order `mismatch`, never credited automatically. Throws when the order is unknown
 * (OrderUnknown) or a write fails: the caller answers so that the provider tries again.
 */
export async function creditVerifiedPayment(
  services: Services,
  ref: { userId: string; orderId: string },
  paid: VerifiedPayment,
  requestId: string,
): Promise<CreditOutcome> {
  let order = await services.orders.get(ref.userId, ref.orderId);
  if (!order) throw new OrderUnknown(`${ref.userId}/${ref.orderId}`);
  const at = services.clock.seconds();
  if (!sameMoney(order, paid)) {
    const { order: now } = await services.orders.move(order, MOVES.mismatch, at, {
      providerRef: paid.providerRef,
    });
    services.log.warn("payment_mismatch", {
      order: order.id,
      provider: paid.provider,
      expected: { amount: order.amountMinor, currency: order.currency },
      paid: { amount: paid.amountMinor, currency: paid.currency },
      state: now.state,
    });
    return "mismatch";
  }
  if (order.state === "mismatch") return "mismatch";
  if (order.state !== "paid" && order.state !== "credited") {
    ({ order } = await services.orders.markPaid(order, paid, at));
    // Another notification made it mismatch meanwhile (another amount): it stays so.
    if (order.state === "mismatch") return "mismatch";
  }
  // Every caller that finds it paid pushes it on: the first to finish wins, the rest are no-ops.
  if (order.state === "paid") await finishPaidOrder(services, order, requestId);
  return "credited";
}

/**
 * The rest of crediting a `paid` order (by a notification, or by the janitor when its
 * crediter stopped): the ledger's top-up by `order:<id>` (applied, or a duplicate: both fine),
 * then `credited`, then what follows a credit, then the janitor's entry is done with.
 */
export async function finishPaidOrder(
  services: Services,
  order: Order,
  requestId: string,
): Promise<void> {
  await services.ledger.topUp(order.userId, {
    reference: `order:${order.id}`,
    bucket: "paid",
    units: order.units,
    by: `payment:${order.provider}`,
    requestId,
  });
  services.auth.forgetAll();
  const at = services.clock.seconds();
  const { order: credited } = await services.orders.move(order, MOVES.credit, at, {
    creditedAt: at,
  });
  await afterCredited(services, credited);
  await services.orders.creditFinished(credited);
}

/**
 * What runs after an order is credited: the invitation reward (growth/first-paid.ts, design
 * brief §9.2). It runs before the janitor's entry is done with, so a process that stops here
 * has the janitor run it again; the reward claims first and is paid once however often this
 * runs.
 */
export async function afterCredited(services: Services, order: Order): Promise<void> {
  await rewardInvitationAfterPaidOrder(services, {
    userId: order.userId,
    orderId: order.id,
    amountMinor: order.amountMinor,
    currency: order.currency,
  });
}

function sameMoney(order: Order, paid: VerifiedPayment): boolean {
  return (
    order.provider === paid.provider &&
    order.amountMinor === paid.amountMinor &&
    order.currency === paid.currency.toUpperCase()
  );
}
