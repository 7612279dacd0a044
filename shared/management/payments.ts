import type { UserPrincipal } from "../auth/authenticate";
import { unitsToDollars } from "../billing/units";
import { Conflict, NotFound } from "../errors";
import { readJsonObject } from "../http/body";
import { type Call, publicRoute, userRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { msg } from "../messages/codes";
import { renderEn } from "../messages/render";
import { formatMinor, unitsFor } from "../payments/amounts";
import { creditVerifiedPayment } from "../payments/credit";
import { checkEpayNotification, epaySubmitUrl } from "../payments/epay";
import { MOVES, ORDER_STATES } from "../payments/lifecycle";
import {
  applySession,
  applyStripeEvent,
  createCheckoutSession,
  productName,
  stripeClient,
  verifyStripeEvent,
} from "../payments/stripe";
import type { Services } from "../services";
import { branding } from "../site/sections/branding";
import { epay } from "../site/sections/epay";
import { type PaymentAmounts, payments } from "../site/sections/payments";
import { stripe } from "../site/sections/stripe";
import {
  isOrderId,
  MAX_NOTES,
  monthOf,
  newOrderId,
  type Order,
  orderRef,
  type PaymentProvider,
} from "../store/orders";
import { field, invalid, ok, pageSize, requireAdmin } from "./envelope";

/**
 * Payments over HTTP (design brief §4): the customer's top-up options, orders and history;
 * EPay's submit, notify and return; the admin's orders (the settings are the site sections
 * payments, payments.stripe and payments.epay). What a payment does is
 * payments/credit.ts's; here only HTTP is decided.
 */

/** GET /api/payment/options (user): what the top-up page offers. */
export const getPaymentOptions = userRoute("GET", "/api/payment/options", async (call) => {
  const site = await call.services.siteOptions.get();
  const options = site.of(payments);
  const stripeSettings = site.of(stripe);
  const epaySettings = site.of(epay);
  const methods: { provider: PaymentProvider; type?: string; currency: string }[] = [];
  if (stripeSettings.enabled)
    methods.push({ provider: "stripe", currency: stripeSettings.currency });
  if (epaySettings.enabled)
    for (const type of epaySettings.types)
      methods.push({ provider: "epay", type, currency: epaySettings.currency });
  const currencies = [...new Set(methods.map((method) => method.currency))];
  return ok({
    methods,
    currencies: currencies.map((currency) => ({
      currency,
      amounts: options.amounts[currency] ?? [],
      min: options.min[currency] ?? null,
      max: options.max[currency] ?? null,
      units_per: options.unitsPer[currency] ?? null,
    })),
  });
});

/** POST /api/payment/epay {amount_minor, type} (user): an order, and the gateway's page for it. */
export const createEpayOrder = userRoute("POST", "/api/payment/epay", async (call) => {
  const body = readJsonObject(call.request);
  const site = await call.services.siteOptions.get();
  const config = site.of(epay);
  const key = config.enabled ? await call.services.siteOptions.secret(epay, "key") : undefined;
  const origin = call.services.settings.edge.publicOrigin;
  if (!config.enabled || !key || !origin)
    throw invalid(msg("payment_method_disabled", { provider: "epay" }));
  const type = field.oneOf(body, "type", config.types);
  const order = await newOrder(call, "epay", config.currency, site.of(payments), type);
  const url = epaySubmitUrl(
    config,
    key,
    order,
    origin,
    `Credit ${formatMinor(order.amountMinor, order.currency)} ${order.currency}`,
  );
  // Stored before it is shown: a payment always finds its order bound.
  await call.services.orders.move(order, MOVES.bind, call.services.clock.seconds(), {
    checkoutUrl: url,
  });
  return ok({ order_id: order.id, url });
});

/** POST /api/payment/stripe {amount_minor} (user): an order, and its Stripe Checkout page. */
export const createStripeOrder = userRoute("POST", "/api/payment/stripe", async (call) => {
  const { services } = call;
  const site = await services.siteOptions.get();
  const config = site.of(stripe);
  const key = config.enabled ? await services.siteOptions.secret(stripe, "secret_key") : undefined;
  const origin = services.settings.edge.publicOrigin;
  if (!config.enabled || !key || !origin)
    throw invalid(msg("payment_method_disabled", { provider: "stripe" }));
  const order = await newOrder(call, "stripe", config.currency, site.of(payments));
  const client = await stripeClient(key, services.settings.stripeApi);
  const email = call.principal.user.email;
  const session = await createCheckoutSession(
    client,
    order,
    config,
    origin,
    productName(site.of(branding).name, order),
    services.clock.seconds(),
    email,
  );
  await services.orders.move(order, MOVES.bind, services.clock.seconds(), {
    providerRef: session.id,
    checkoutUrl: session.url,
  });
  return ok({ order_id: order.id, url: session.url });
});

/** The most a Stripe event may be (Stripe's are a few KiB). */
const STRIPE_EVENT_MAX_BYTES = 64 * 1024;

/**
 * POST /api/payment/stripe/webhook (public): Stripe's signed event, verified on its raw bytes
 * before anything in it is read. A refused one answers 400 and writes nothing; an event that
 * cannot be applied yet (a refund before its payment) or a failed write answers 500, so Stripe
 * sends it again; anything else 200.
 */
export const stripeWebhook = publicRoute(
  "POST",
  "/api/payment/stripe/webhook",
  "one-api",
  async ({ services, request }) => {
    // A site that turned Stripe off still takes the events of orders made before.
    const secret = await services.siteOptions.secret(stripe, "webhook_secret");
    const key = await services.siteOptions.secret(stripe, "secret_key");
    const refuse = (reason: string, claimedSession?: string) => {
      services.log.warn("payment_notification_refused", {
        provider: "stripe",
        reason,
        ...(claimedSession ? { claimed_session: claimedSession } : {}),
        ip: request.sourceIp,
      });
      const said = msg("payment_notification_refused", { reason });
      return stripeAnswer(400, {
        success: false,
        message: renderEn(said),
        code: said.code,
        params: said.params,
      });
    };
    if (!secret || !key) return refuse("not_configured");
    if (request.body.length > STRIPE_EVENT_MAX_BYTES) return refuse("size");
    const client = await stripeClient(key, services.settings.stripeApi);
    const verified = verifyStripeEvent(
      client,
      request.body,
      request.headers["stripe-signature"],
      secret,
    );
    if (!verified.ok) return refuse(verified.reason, verified.claimedSession);
    try {
      const outcome = await applyStripeEvent(
        services,
        verified.event,
        /^(sk|rk)_live_/.test(key),
        request.id,
      );
      return outcome === "done"
        ? stripeAnswer(200, { received: true })
        : stripeAnswer(500, { success: false, message: "not applicable yet" });
    } catch (err) {
      services.log.warn("payment_notification_unapplied", {
        provider: "stripe",
        event: verified.event.id,
        error: String(err),
      });
      return stripeAnswer(500, { success: false, message: "not applied" });
    }
  },
);

function stripeAnswer(status: number, body: unknown): GatewayResponse {
  return {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
    body: JSON.stringify(body),
  };
}

/** The return page checks with Stripe at most this often per order (a webhook may be lost). */
const RECONCILE_SECONDS = 10;

/**
 * A pending Stripe order, checked with Stripe's API (its fulfilment guide: fulfil on the
 * landing page too, so a lost webhook does not strand a payment); what Stripe says is applied
 * as a verified event is. Any failure leaves the order as it was: the webhook still comes.
 */
async function reconcileStripe(call: Call<UserPrincipal>, order: Order): Promise<Order> {
  const { services } = call;
  const now = services.clock.seconds();
  if (order.provider !== "stripe" || !order.providerRef) return order;
  if (order.state !== "pending" && order.state !== "processing") return order;
  if (order.checkedAt !== undefined && now - order.checkedAt < RECONCILE_SECONDS) return order;
  try {
    const key = await services.siteOptions.secret(stripe, "secret_key");
    if (!key) return order;
    await services.orders.setFields(order, { checkedAt: now });
    const client = await stripeClient(key, services.settings.stripeApi);
    const session = await client.checkout.sessions.retrieve(order.providerRef);
    const kind =
      session.status === "expired"
        ? "checkout.session.expired"
        : session.status === "complete"
          ? "reconcile"
          : undefined;
    if (kind) await applySession(services, session, call.request.id, kind);
  } catch (err) {
    services.log.warn("payment_reconcile_failed", { order: order.id, error: String(err) });
  }
  return (await services.orders.get(order.userId, order.id)) ?? order;
}

/** Writes a new order (`created`) for the amount in the body, before any provider is called. */
async function newOrder(
  call: Call<UserPrincipal>,
  provider: PaymentProvider,
  currency: string,
  options: PaymentAmounts,
  method?: string,
): Promise<Order> {
  const body = readJsonObject(call.request);
  const min = options.min[currency] ?? 1;
  const max = options.max[currency];
  const amountMinor = field.integer(body, "amount_minor", { min, max }) as number | undefined;
  if (amountMinor === undefined) throw invalid(msg("field_required", { field: "amount_minor" }));
  const unitsPer = options.unitsPer[currency];
  if (!unitsPer) throw invalid(msg("payment_currency_unset", { provider, currency }));
  const now = call.services.clock.now();
  return call.services.orders.create({
    id: newOrderId(now),
    userId: call.principal.user.id,
    provider,
    ...(method ? { method } : {}),
    currency,
    amountMinor,
    unitsPer,
    units: unitsFor(amountMinor, currency, unitsPer),
    createdAt: Math.floor(now / 1000),
  });
}

/** What became of a notification: credited (or mismatch, recorded), or to be sent again. */
type Applied = { order: string; outcome: "credited" | "mismatch" } | { refused: string };

/**
 * An EPay notification or return, checked and applied. A refused one (a forgery, another
 * pid, an amount that is not one) writes nothing; it is logged with why.
 */
async function applyEpay(call: Call): Promise<Applied> {
  const { services, request } = call;
  const params =
    request.method === "POST" && request.body.length > 0
      ? new URLSearchParams(Buffer.from(request.body).toString("utf8"))
      : request.query;
  const config = (await services.siteOptions.get()).of(epay);
  // A site that turned EPay off still takes the notifications of orders made before.
  const key = config.pid ? await services.siteOptions.secret(epay, "key") : undefined;
  if (!key) return refused(services, "not_configured", request.sourceIp);
  const checked = checkEpayNotification(params, config, key);
  if (!checked.ok)
    return refused(
      services,
      checked.reason,
      request.sourceIp,
      checked.outTradeNo,
      params.get("pid"),
    );
  try {
    const outcome = await creditVerifiedPayment(services, checked.ref, checked.payment, request.id);
    return { order: checked.ref.orderId, outcome };
  } catch (err) {
    services.log.warn("payment_notification_unapplied", {
      provider: "epay",
      order: checked.ref.orderId,
      error: String(err),
    });
    return { refused: "unapplied" };
  }
}

function refused(
  services: Services,
  reason: string,
  ip: string | undefined,
  outTradeNo?: string,
  pid?: string | null,
): Applied {
  services.log.warn("payment_notification_refused", {
    provider: "epay",
    reason,
    out_trade_no: outTradeNo,
    ...(reason === "pid" ? { pid: pid?.slice(0, 64) } : {}),
    ip,
  });
  return { refused: reason };
}

const FORM = ["application/x-www-form-urlencoded"] as const;

/**
 * The gateway's notification, by GET or POST: `success` (plain text) once the order is
 * credited, was already, or is recorded as a mismatch (sending it again changes nothing);
 * `fail` otherwise, so the gateway sends it again.
 */
async function epayNotify(call: Call): Promise<GatewayResponse> {
  const applied = await applyEpay(call);
  return {
    status: 200,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    body: "outcome" in applied ? "success" : "fail",
  };
}

export const epayNotifyGet = publicRoute("GET", "/api/payment/epay/notify", "one-api", epayNotify);
export const epayNotifyPost = {
  ...publicRoute("POST", "/api/payment/epay/notify", "one-api", epayNotify),
  bodyTypes: FORM,
};

/**
 * GET /api/payment/epay/return: the customer back from the gateway, with the notification's
 * parameters: verified and applied as a notification is (it may come first), then to the
 * order's page, which shows its state whatever happened here.
 */
export const epayReturn = publicRoute(
  "GET",
  "/api/payment/epay/return",
  "one-api",
  async (call) => {
    const applied = await applyEpay(call);
    const order = "order" in applied ? applied.order : undefined;
    return {
      status: 303,
      headers: {
        location: order ? `/#/topup/orders/${order}` : "/#/topup",
        "cache-control": "no-store",
      },
      body: "",
    };
  },
);

/** GET /api/payment/orders (user): the caller's orders, newest first. */
export const listOwnOrders = userRoute("GET", "/api/payment/orders", async (call) => {
  const orders = await call.services.orders.listForUser(
    call.principal.user.id,
    pageSize(call.request.query, 20, 100),
  );
  return ok(orders.map(customerView));
});

/** GET /api/payment/order/{id} (user): one of the caller's orders; another's is not found. */
export const getOwnOrder = userRoute("GET", "/api/payment/order/:id", async (call) => {
  const id = call.params.id as string;
  const order = isOrderId(id)
    ? await call.services.orders.get(call.principal.user.id, id)
    : undefined;
  if (!order) throw new NotFound(msg("order_not_found"));
  return ok(customerView(await reconcileStripe(call, order)));
});

/**
 * GET /api/payment/admin/orders?month=YYYY-MM&state=&provider=&user=&cursor= (admin): every
 * user's orders of a month (this one by default), newest first, with every field and the
 * user's name. `user` is an id or a username (an unknown one matches nothing); `cursor` is
 * the `next_cursor` of the page before (the last order's reference).
 */
export const listAllOrders = userRoute("GET", "/api/payment/admin/orders", async (call) => {
  requireAdmin(call);
  const { query } = call.request;
  const month = query.get("month") ?? new Date(call.services.clock.now()).toISOString().slice(0, 7);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw invalid(msg("order_month_invalid"));
  const filters = Object.fromEntries(query);
  const state = field.oneOf(filters, "state", ORDER_STATES);
  const provider = field.oneOf(filters, "provider", PROVIDERS);
  const user = await userFilter(call, query.get("user")?.trim());
  const cursor = query.get("cursor");
  const after = cursor ? await call.services.orders.byRef(cursor) : undefined;
  if (cursor && (!after || monthOf(after.createdAt) !== month || (user && after.userId !== user)))
    throw invalid(msg("order_cursor_invalid"));
  const size = pageSize(query, 50, 200);
  // A name no user has: no order is theirs, and the month is not read to find that out.
  if (user === null) return ok([], { has_more: false, next_cursor: null });
  const keep = (order: Order) =>
    (!state || order.state === state) && (!provider || order.provider === provider);
  // One user's: their own orders of the month only, never the whole month's.
  const { orders, resumeAfter } = user
    ? await call.services.orders.listUserMonth(user, month, size, keep, after)
    : await call.services.orders.listMonth(month, size, keep, after);
  const names = await call.services.users.names(orders.map((order) => order.userId));
  return ok(
    orders.map((order) => ({ ...adminView(order), user_name: names.get(order.userId) ?? null })),
    {
      has_more: resumeAfter !== undefined,
      // Where the page stopped: its last order, or the last one read when the page's reads ran
      // out before it was full (a filter that keeps few).
      next_cursor: resumeAfter ? orderRef(resumeAfter) : null,
    },
  );
});

/** GET /api/payment/admin/orders/{ref} (admin): one order, with every field and its user's name. */
export const getAnyOrder = userRoute("GET", "/api/payment/admin/orders/:ref", async (call) => {
  requireAdmin(call);
  const order = await call.services.orders.byRef(call.params.ref as string);
  if (!order) throw new NotFound(msg("order_not_found"));
  return ok(await namedView(call, order));
});

const PROVIDERS: readonly PaymentProvider[] = ["stripe", "epay"];

/** A user's id as sluice makes them (`user_` and 16 letters or digits), not a username. */
const USER_ID = /^user_[A-Za-z0-9]{16}$/;

/**
 * The user id a filter names: an id as given, else a username looked up; null for a name no
 * user has (which matches no order).
 */
async function userFilter(call: Call<UserPrincipal>, given: string | undefined) {
  if (!given) return undefined;
  if (USER_ID.test(given)) return given;
  return (await call.services.users.findByUsername(given))?.id ?? null;
}

/** One order as the admin sees it, its user and its notes' authors named. */
async function namedView(call: Call<UserPrincipal>, order: Order) {
  const names = await call.services.users.names([
    order.userId,
    ...order.notes.map((note) => note.by),
  ]);
  const view = adminView(order);
  return {
    ...view,
    user_name: names.get(order.userId) ?? null,
    notes: view.notes.map((note) => ({ ...note, by_name: names.get(note.by) ?? null })),
  };
}

/** POST /api/payment/admin/orders/{ref}/note {text} (admin): a note (a refund, a dispute). */
export const noteOrder = userRoute("POST", "/api/payment/admin/orders/:ref/note", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  const text = field.string(body, "text", { required: true, max: 500 }) as string;
  const order = await call.services.orders.byRef(call.params.ref as string);
  if (!order) throw new NotFound(msg("order_not_found"));
  const noted = await call.services.orders.addNote(order, {
    at: call.services.clock.seconds(),
    by: call.principal.user.id,
    text,
  });
  if (!noted) throw new Conflict(msg("order_notes_full", { max: MAX_NOTES }));
  return ok(await namedView(call, noted));
});

/** The customer's view: their own order, no provider references. */
function customerView(order: Order) {
  return {
    id: order.id,
    provider: order.provider,
    method: order.method ?? null,
    currency: order.currency,
    amount_minor: order.amountMinor,
    amount: formatMinor(order.amountMinor, order.currency),
    units: order.units,
    state: order.state,
    created_at: order.createdAt,
    paid_at: order.paidAt ?? null,
    credited_at: order.creditedAt ?? null,
    checkout_url: order.state === "pending" ? (order.checkoutUrl ?? null) : null,
  };
}

function adminView(order: Order) {
  return {
    ...customerView(order),
    ref: orderRef(order),
    user_id: order.userId,
    quota_dollar: unitsToDollars(order.units),
    units_per: order.unitsPer,
    provider_ref: order.providerRef ?? null,
    payment_intent: order.paymentIntent ?? null,
    refunded_minor: order.refundedMinor ?? 0,
    dispute: order.dispute ?? null,
    notes: order.notes,
    events: order.events,
  };
}
