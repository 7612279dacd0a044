/** Payments (stream c-pay): buying credit, orders, and the payment settings' checks. */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

type Provider = { provider: string };

export interface Messages {
  /** A payment setting's value is not one it may have. */
  payment_setting_invalid: { field: string };
  payments_need_public_origin: NoParams;
  payment_currency_unset: Provider & { currency: string };
  payment_provider_incomplete: Provider;
  /** The customer chose a way to pay that the site has not enabled. */
  payment_method_disabled: Provider;
  order_not_found: NoParams;
  /** For logs: a verified payment names an order sluice has not (the provider tries again). */
  order_unknown: { ref: string };
  order_notes_full: { max: number };
  order_month_invalid: NoParams;
  /** The admin's list was asked to go on after an order that is not one of that month's. */
  order_cursor_invalid: NoParams;
  /** A payment provider's notification that failed its checks (signature, size, …). */
  payment_notification_refused: { reason: string };
}

const PROVIDERS: Record<string, { en: string; zh: string }> = {
  stripe: { en: "Stripe", zh: "Stripe" },
  epay: { en: "EPay", zh: "易支付" },
};
const named = (provider: string, lang: "en" | "zh") => PROVIDERS[provider]?.[lang] ?? provider;

export const en: Entries<Messages> = {
  payment_setting_invalid: (p) => `The payment setting ${p.field} has a value it may not have.`,
  payments_need_public_origin: () =>
    "Set SLUICE_PUBLIC_ORIGIN (the site's public address) before enabling a way to pay.",
  payment_currency_unset: (p) =>
    `Set an exchange rate (units_per) and a minimum for ${p.currency} before enabling ${named(p.provider, "en")}.`,
  payment_provider_incomplete: (p) =>
    p.provider === "stripe"
      ? "Save Stripe's secret key and webhook signing secret before enabling Stripe."
      : "Save EPay's gateway address, merchant id (pid) and key before enabling EPay.",
  payment_method_disabled: (p) =>
    `Paying with ${named(p.provider, "en")} is not enabled on this site.`,
  order_not_found: () => "No such order.",
  order_unknown: (p) => `A verified payment names an order that does not exist (${p.ref}).`,
  order_notes_full: (p, f) =>
    `This order has ${f.plural(p.max, { one: "# note", other: "# notes" })} already, as many as it may have.`,
  order_month_invalid: () => "month must be YYYY-MM.",
  order_cursor_invalid: () => "cursor must be the reference of an order of that month.",
  payment_notification_refused: (p) => `The payment notification was refused (${p.reason}).`,
};

export const zh: Entries<Messages> = {
  payment_setting_invalid: (p) => `支付设置 ${p.field} 的值无效。`,
  payments_need_public_origin: () =>
    "请先设置 SLUICE_PUBLIC_ORIGIN（站点的公开地址），再启用支付方式。",
  payment_currency_unset: (p) =>
    `启用${named(p.provider, "zh")}之前，请先为 ${p.currency} 设置汇率（units_per）和最低金额。`,
  payment_provider_incomplete: (p) =>
    p.provider === "stripe"
      ? "启用 Stripe 之前，请先保存 Stripe 的密钥和 Webhook 签名密钥。"
      : "启用易支付之前，请先保存网关地址、商户号（pid）和商户密钥。",
  payment_method_disabled: (p) => `本站未启用${named(p.provider, "zh")}支付。`,
  order_not_found: () => "没有这个订单。",
  order_unknown: (p) => `一笔已验证的付款指向不存在的订单（${p.ref}）。`,
  order_notes_full: (p, f) => `此订单已有 ${f.number(p.max)} 条备注，已达上限。`,
  order_month_invalid: () => "月份格式应为 YYYY-MM。",
  order_cursor_invalid: () => "cursor 应为该月某个订单的编号。",
  payment_notification_refused: (p) => `支付通知被拒绝（${p.reason}）。`,
};

export const samples: Samples<Messages> = {
  payment_setting_invalid: { field: "units_per.CNY" },
  payments_need_public_origin: {},
  payment_currency_unset: { provider: "epay", currency: "CNY" },
  payment_provider_incomplete: { provider: "stripe" },
  payment_method_disabled: { provider: "epay" },
  order_not_found: {},
  order_unknown: { ref: "user_x/01KBX" },
  order_notes_full: { max: 20 },
  order_month_invalid: {},
  order_cursor_invalid: {},
  payment_notification_refused: { reason: "signature_missing" },
};
