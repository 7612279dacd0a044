import { InvalidRequest } from "../errors";
import { isObject, type JsonObject } from "../http/body";
import type { PaymentOptions, PaymentSecret } from "../store/payment-settings";
import { CURRENCY_SHAPE, MAX_MINOR } from "./amounts";

/**
 * The operator's payment settings as the admin sends them (snake case, §4.1 of the design
 * brief), read whole and checked: every amount an integer in minor units, every rate an
 * integer, and no provider enabled before what it needs is there (its secrets, the site's
 * public origin for the URLs it is given), so checkout never runs without a webhook secret.
 */
export function readPaymentOptions(body: JsonObject): PaymentOptions {
  const stripe = objectAt(body, "stripe");
  const epay = objectAt(body, "epay");
  return {
    amounts: perCurrency(body, "amounts", (value, name) => {
      if (!Array.isArray(value) || value.length > 12)
        throw bad(`${name} must be a list of at most 12 amounts.`);
      return value.map((amount) => minor(amount, name));
    }),
    min: perCurrency(body, "min", minor),
    max: perCurrency(body, "max", minor),
    unitsPer: perCurrency(body, "units_per", (value, name) => {
      if (!Number.isSafeInteger(value) || (value as number) <= 0 || (value as number) > 1e12)
        throw bad(`${name} must be a whole number of quota units above 0.`);
      return value as number;
    }),
    stripe: {
      enabled: stripe.enabled === true,
      currency: currency(stripe.currency ?? "USD", "stripe.currency"),
      methods: strings(stripe.methods ?? [], "stripe.methods"),
    },
    epay: {
      enabled: epay.enabled === true,
      gateway: text(epay.gateway ?? "", "epay.gateway", 300),
      pid: text(epay.pid ?? "", "epay.pid", 64),
      types: strings(epay.types ?? [], "epay.types"),
      currency: currency(epay.currency ?? "CNY", "epay.currency"),
    },
  };
}

export function checkPaymentOptions(
  options: PaymentOptions,
  saved: Record<PaymentSecret, boolean>,
  publicOrigin: string | undefined,
): void {
  const enabled = options.stripe.enabled || options.epay.enabled;
  if (enabled && !publicOrigin)
    throw bad("Set SLUICE_PUBLIC_ORIGIN (the site's public address) before enabling payments.");
  for (const [provider, currency] of [
    ["stripe", options.stripe.currency],
    ["epay", options.epay.currency],
  ] as const) {
    if (!options[provider].enabled) continue;
    if (!options.unitsPer[currency] || options.min[currency] === undefined)
      throw bad(`Set units_per and min for ${currency} before enabling ${provider}.`);
    if ((options.max[currency] ?? MAX_MINOR) < (options.min[currency] as number))
      throw bad(`max for ${currency} is below its min.`);
  }
  if (options.stripe.enabled && !(saved["stripe.secret_key"] && saved["stripe.webhook_secret"]))
    throw bad("Save Stripe's secret key and webhook signing secret before enabling Stripe.");
  if (options.epay.enabled) {
    if (!options.epay.pid || !saved["epay.key"])
      throw bad("Save EPay's merchant id (pid) and key before enabling EPay.");
    let gateway: URL | undefined;
    try {
      gateway = new URL(options.epay.gateway);
    } catch {}
    const local = gateway && ["localhost", "127.0.0.1", "[::1]"].includes(gateway.hostname);
    if (!gateway || !(gateway.protocol === "https:" || (gateway.protocol === "http:" && local)))
      throw bad("epay.gateway must be the gateway's https:// address.");
  }
}

const bad = (message: string) => new InvalidRequest(message);

function objectAt(body: JsonObject, name: string): JsonObject {
  const value = body[name] ?? {};
  if (!isObject(value)) throw bad(`${name} must be an object.`);
  return value;
}

function perCurrency<T>(
  body: JsonObject,
  name: string,
  read: (value: unknown, name: string) => T,
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [code, value] of Object.entries(objectAt(body, name))) {
    out[currency(code, `${name} key`)] = read(value, `${name}.${code}`);
  }
  return out;
}

function minor(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > MAX_MINOR)
    throw bad(`${name} must be whole minor units (cents, fen) above 0.`);
  return value as number;
}

function currency(value: unknown, name: string): string {
  const code = typeof value === "string" ? value.toUpperCase() : "";
  if (!CURRENCY_SHAPE.test(code)) throw bad(`${name} must be a three-letter currency code.`);
  return code;
}

function strings(value: unknown, name: string): string[] {
  if (
    !Array.isArray(value) ||
    value.length > 20 ||
    value.some((v) => typeof v !== "string" || !/^[a-z0-9_]{1,40}$/.test(v))
  )
    throw bad(`${name} must be a list of names (a-z, 0-9, _).`);
  return value as string[];
}

function text(value: unknown, name: string, max: number): string {
  if (typeof value !== "string" || value.length > max)
    throw bad(`${name} must be text of at most ${max} characters.`);
  return value.trim();
}
