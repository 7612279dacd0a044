import { afterCredited, finishPaidOrder } from "../payments/credit";
import { MOVES } from "../payments/lifecycle";
import type { Services } from "../services";
import type { ScheduledWork } from "../store/schedule";

/**
 * The janitor's part of payments, from its agenda: a `paid` order whose crediter stopped is
 * credited (CREDIT_GRACE_SECONDS after it was paid), and an order nobody paid is expired
 * (ORDER_PENDING_SECONDS after it was made; a payment that arrives later is still credited).
 * False for work that is not an order's. An order that fails keeps its entry for the next sweep
 * (the sweep logs it and goes on).
 */
export async function sweepOrderWork(
  services: Services,
  work: ScheduledWork,
  now: number,
): Promise<boolean> {
  if (work.kind !== "order.credit" && work.kind !== "order.expire") return false;
  const order = await services.orders.byRef(work.id);
  if (order && work.kind === "order.expire" && order.expiresAt <= now) {
    await services.orders.move(order, MOVES.expire, now);
  }
  if (order && work.kind === "order.credit") {
    if (order.state === "paid") {
      await finishPaidOrder(services, order, "janitor");
      services.log.info("order_credited_by_janitor", { order: order.id, user: order.userId });
    } else if (order.state === "credited") {
      // Stopped after `credited`, before the entry was done with: what follows runs again.
      await afterCredited(services, order);
    }
  }
  await services.schedule.done(work);
  return true;
}
