import type Stripe from "stripe";
import type { Services } from "../services";
import type { StripeSettings } from "../site/sections/stripe";
import { type Order, orderRef, parseOrderRef } from "../store/orders";
import { formatMinor } from "./amounts";
import { creditVerifiedPayment } from "./credit";
import { MOVES } from "./lifecycle";

/**
 * Stripe Checkout (design brief §4.3) with the official `stripe` package, imported only when
 * a Stripe call needs it (infra/side-bundles.ts). The API version is the package's own, so
 * the event shapes read here are the ones its types describe. Stripe's answers are read only
 * after the signature holds (webhooks) or from Stripe's API itself (the return page).
 */

/** A Checkout Session must live at least 30 minutes; 31 leaves room for clocks. */
export const CHECKOUT_SECONDS = 31 * 60;

/** Stripe's default: a signed event older (or newer) than this is refused. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** A Stripe client with `secretKey`, talking to `apiUrl` when set (the local demo API). */
export async function stripeClient(secretKey: string, apiUrl?: string): Promise<Stripe> {
  const { default: StripeClient } = await import("stripe");
  const api = apiUrl ? new URL(apiUrl) : undefined;
  return new StripeClient(secretKey, {
    apiVersion: StripeClient.API_VERSION,
    maxNetworkRetries: 1,
    ...(api
      ? {
          host: api.hostname,
          port: Number(api.port || (api.protocol === "http:" ? 80 : 443)),
          protocol: api.protocol === "http:" ? "http" : "https",
        }
      : {}),
  });
}

/** Creates the Checkout Session of a `created` order; Stripe answers the same for a retry. */
export async function createCheckoutSession(
  client: Stripe,
  order: Order,
  settings: StripeSettings,
  origin: string,
  productName: string,
  nowSeconds: number,
  email?: string,
): Promise<{ id: string; url: string }> {
  const ref = orderRef(order);
  const session = await client.checkout.sessions.create(
    {
      mode: "payment",
      client_reference_id: ref,
      metadata: { order_ref: ref },
      payment_intent_data: { metadata: { order_ref: ref } },
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: order.currency.toLowerCase(),
            unit_amount: order.amountMinor,
            product_data: { name: productName },
          },
        },
      ],
      // This API version filters Stripe's own choice of methods (no more payment_method_types).
      ...(settings.methods.length
        ? {
            allowed_payment_method_types:
              settings.methods as Stripe.Checkout.SessionCreateParams.AllowedPaymentMethodType[],
          }
        : {}),
      success_url: `${origin}/#/topup/orders/${order.id}`,
      cancel_url: `${origin}/#/topup`,
      expires_at: nowSeconds + CHECKOUT_SECONDS,
      ...(email ? { customer_email: email } : {}),
    },
    { idempotencyKey: `order-${order.id}` },
  );
  if (!session.url) throw new Error(`Stripe gave checkout session ${session.id} no url`);
  return { id: session.id, url: session.url };
}

/**
 * A verified event, or why not; a refusal carries the Checkout Session the bytes claim to be
 * about, unverified, for its log line only (an operator looks a forgery up by it).
 */
export type StripeVerified =
  | { ok: true; event: Stripe.Event }
  | { ok: false; reason: string; claimedSession?: string };

/** The webhook's raw bytes, verified by Stripe's rule before anything in them is read. */
export function verifyStripeEvent(
  client: Stripe,
  raw: Uint8Array,
  signature: string | undefined,
  webhookSecret: string,
): StripeVerified {
  const refused = (reason: string) => ({ ok: false as const, reason, ...claimedSession(raw) });
  if (!signature) return refused("signature_missing");
  try {
    const event = client.webhooks.constructEvent(
      Buffer.from(raw),
      signature,
      webhookSecret,
      WEBHOOK_TOLERANCE_SECONDS,
    );
    return { ok: true, event };
  } catch (err) {
    const message = String((err as Error).message ?? err);
    return refused(/timestamp/i.test(message) ? "timestamp" : "signature");
  }
}

/** `data.object.id` of refused bytes, if it has the shape of a Checkout Session's id. */
function claimedSession(raw: Uint8Array): { claimedSession?: string } {
  try {
    const id = JSON.parse(Buffer.from(raw).toString("utf8"))?.data?.object?.id;
    return typeof id === "string" && /^cs_\w{1,200}$/.test(id) ? { claimedSession: id } : {};
  } catch {
    return {};
  }
}

/**
 * What an event did: `done` (applied, ignored, or nothing to do: Stripe may stop sending it),
 * or `retry` (not yet applicable: the refund of an order not yet linked to its PaymentIntent;
 * a 500 makes Stripe send it again).
 */
export type StripeOutcome = "done" | "retry";

/** Applies a verified event once: an event id already applied is skipped. */
export async function applyStripeEvent(
  services: Services,
  event: Stripe.Event,
  livemode: boolean,
  requestId: string,
): Promise<StripeOutcome> {
  if (await services.orders.eventSeen("stripe", event.id)) return "done";
  const outcome = await applyEvent(services, event, livemode, requestId);
  if (outcome === "done")
    await services.orders.recordEvent("stripe", event.id, services.clock.seconds());
  return outcome;
}

async function applyEvent(
  services: Services,
  event: Stripe.Event,
  livemode: boolean,
  requestId: string,
): Promise<StripeOutcome> {
  if (event.livemode !== livemode) {
    services.log.warn("payment_notification_refused", {
      provider: "stripe",
      reason: "livemode",
      event: event.id,
    });
    return "done";
  }
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
    case "checkout.session.async_payment_failed":
    case "checkout.session.expired":
      await applySession(services, event.data.object, requestId, event.type);
      return "done";
    case "charge.refunded": {
      const charge = event.data.object;
      return noteOnIntent(services, charge.payment_intent, {
        refundedMinor: charge.amount_refunded,
      });
    }
    case "charge.dispute.created":
    case "charge.dispute.closed": {
      const dispute = event.data.object;
      return noteOnIntent(services, dispute.payment_intent, {
        dispute: {
          status: dispute.status,
          amountMinor: dispute.amount,
          // The event's own time: a dispute is as its latest event says, whatever the order.
          at: event.created,
        },
      });
    }
    default:
      return "done";
  }
}

type SessionEvent =
  | "checkout.session.completed"
  | "checkout.session.async_payment_succeeded"
  | "checkout.session.async_payment_failed"
  | "checkout.session.expired";

/**
 * A Checkout Session, as a verified event or Stripe's API tells it: paid → credited (once,
 * by creditVerifiedPayment, which also checks amount and currency), completed but unpaid →
 * processing, failed → failed, expired → expired. A session that is not this order's
 * (another session id than the one bound) changes nothing.
 */
export async function applySession(
  services: Services,
  session: Stripe.Checkout.Session,
  requestId: string,
  kind: SessionEvent | "reconcile",
): Promise<void> {
  const ref = parseOrderRef(session.client_reference_id ?? "");
  if (!ref) {
    services.log.warn("payment_notification_refused", {
      provider: "stripe",
      reason: "reference",
      session: session.id,
    });
    return;
  }
  const order = await services.orders.get(ref.userId, ref.orderId);
  if (order?.provider !== "stripe") {
    services.log.warn("payment_notification_refused", {
      provider: "stripe",
      reason: "order",
      session: session.id,
    });
    return;
  }
  if (order.providerRef && order.providerRef !== session.id) {
    services.log.warn("payment_notification_refused", {
      provider: "stripe",
      reason: "session",
      order: order.id,
      session: session.id,
    });
    return;
  }
  const at = services.clock.seconds();
  if (kind === "checkout.session.expired") {
    await services.orders.move(order, MOVES.expire, at);
    return;
  }
  if (kind === "checkout.session.async_payment_failed") {
    await services.orders.move(order, MOVES.fail, at);
    return;
  }
  if (session.payment_status === "unpaid") {
    if (kind === "checkout.session.completed")
      await services.orders.move(order, MOVES.processing, at, { providerRef: session.id });
    return;
  }
  if (session.amount_total === null || !session.currency) return;
  await creditVerifiedPayment(
    services,
    ref,
    {
      provider: "stripe",
      providerRef: session.id,
      amountMinor: session.amount_total,
      currency: session.currency.toUpperCase(),
      ...(typeof session.payment_intent === "string"
        ? { paymentIntent: session.payment_intent }
        : session.payment_intent
          ? { paymentIntent: session.payment_intent.id }
          : {}),
    },
    requestId,
  );
}

/** A refund or dispute, noted on the order its PaymentIntent paid; not linked yet: retry. */
async function noteOnIntent(
  services: Services,
  intent: string | Stripe.PaymentIntent | null,
  change: Parameters<Services["orders"]["note"]>[2],
): Promise<StripeOutcome> {
  const id = typeof intent === "string" ? intent : intent?.id;
  if (!id) return "done";
  const order = await services.orders.byPaymentIntent(id);
  if (!order) return "retry";
  // An order in no state to note it on (a mismatch), or a note newer than this one: nothing
  // to retry.
  await services.orders.note(order, services.clock.seconds(), change);
  return "done";
}

/** The product's name on Stripe's page: "<site> · 5.00 USD credit". */
export function productName(siteName: string, order: Order): string {
  return `${siteName} · ${formatMinor(order.amountMinor, order.currency)} ${order.currency} credit`;
}
