import type { EpaySettings } from "../site/sections/epay";
import { type Order, orderRef, parseOrderRef, type VerifiedPayment } from "../store/orders";
import { formatMinor, parseMinor } from "./amounts";
import { epaySigned, epayVerify } from "./epay-sign";

/**
 * EPay V1 (易支付), spoken as the Rainbow EPay demo, go-epay and the EasyPay-compatible
 * gateways speak it; no SDK. The customer pays on the gateway's `submit.php`, reached by a
 * GET navigation (the console's CSP has `form-action 'self'`: no cross-origin form post);
 * the gateway tells sluice by a signed notification (GET or POST) and sends the customer
 * back to the return URL with the same signed parameters.
 */

/** The gateway's page where `order` is paid, with sluice's notify and return URLs. */
export function epaySubmitUrl(
  config: EpaySettings,
  key: string,
  order: Order,
  origin: string,
  productName: string,
): string {
  const params: Record<string, string> = {
    pid: config.pid as string,
    out_trade_no: orderRef(order),
    notify_url: `${origin}/api/payment/epay/notify`,
    return_url: `${origin}/api/payment/epay/return`,
    name: productName,
    money: formatMinor(order.amountMinor, order.currency),
  };
  if (order.method) params.type = order.method;
  const gateway = config.gateway as string;
  const url = new URL("submit.php", gateway.endsWith("/") ? gateway : `${gateway}/`);
  for (const [name, value] of Object.entries(epaySigned(params, key)))
    url.searchParams.set(name, value);
  return url.toString();
}

/** Why a notification was refused: none of these is ever acted on. */
export type EpayRefusal = "shape" | "signature" | "pid" | "status" | "money" | "reference";

export type EpayNotification =
  | { ok: true; ref: { userId: string; orderId: string }; payment: VerifiedPayment }
  | { ok: false; reason: EpayRefusal; outTradeNo?: string };

/**
 * A notification (or a return), checked: the signature first (nothing else is read before
 * it holds), then that it is for our `pid`, that the trade succeeded, that `money` is an exact
 * amount, and that `out_trade_no` is one of our references. `params` come from the query or a
 * form body; a parameter given twice makes it ambiguous, and refused ("shape").
 */
export function checkEpayNotification(
  params: URLSearchParams,
  config: EpaySettings,
  key: string,
): EpayNotification {
  const fields: Record<string, string> = {};
  for (const [name, value] of params) {
    if (name in fields) return { ok: false, reason: "shape" };
    fields[name] = value;
  }
  const outTradeNo = fields.out_trade_no?.slice(0, 64);
  if (!epayVerify(fields, key)) return { ok: false, reason: "signature", outTradeNo };
  if (fields.pid !== config.pid) return { ok: false, reason: "pid", outTradeNo };
  if (fields.trade_status !== "TRADE_SUCCESS") return { ok: false, reason: "status", outTradeNo };
  const amountMinor = parseMinor(fields.money ?? "", config.currency);
  if (amountMinor === undefined) return { ok: false, reason: "money", outTradeNo };
  const ref = parseOrderRef(fields.out_trade_no ?? "");
  if (!ref || !fields.trade_no) return { ok: false, reason: "reference", outTradeNo };
  return {
    ok: true,
    ref,
    payment: {
      provider: "epay",
      providerRef: fields.trade_no.slice(0, 128),
      amountMinor,
      currency: config.currency,
    },
  };
}
