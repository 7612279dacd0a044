import { invalid } from "../management/envelope";
import { msg } from "../messages/codes";
import type { SiteField } from "../site/section";
import { CURRENCY_SHAPE, MAX_MINOR } from "./amounts";

/**
 * Readers for the payment sections' fields (shared/site/sections/payments*.ts) that the site's
 * generic readers do not have: per-currency maps of minor units or rates, a currency code,
 * a list of method names. A bad value is a 400 naming the field.
 */
export const paymentField = {
  /** `{USD: [500, 1000]}`: preset amounts per currency, in minor units. */
  amounts(): SiteField<Record<string, number[]>> {
    return perCurrency((value, name) => {
      if (!Array.isArray(value) || value.length > 12)
        throw invalid(msg("payment_setting_invalid", { field: name }));
      return value.map((amount) => minorUnits(amount, name));
    });
  },
  /** `{USD: 100}`: an amount in minor units per currency. */
  minorPerCurrency(): SiteField<Record<string, number>> {
    return perCurrency(minorUnits);
  },
  /** `{CNY: 75000}`: quota units per major unit of each currency. */
  ratePerCurrency(): SiteField<Record<string, number>> {
    return perCurrency((value, name) => {
      if (!Number.isSafeInteger(value) || (value as number) <= 0 || (value as number) > 1e12)
        throw invalid(msg("payment_setting_invalid", { field: name }));
      return value as number;
    });
  },
  currency(): SiteField<string> {
    return {
      read(body, name) {
        if (body[name] === undefined) return undefined;
        if (body[name] === null) return null;
        return currencyCode(body[name], name);
      },
    };
  },
  /** Method names (EPay types, Stripe payment_method_types): a-z, 0-9, _. */
  names(): SiteField<string[]> {
    return {
      read(body, name) {
        const value = body[name];
        if (value === undefined) return undefined;
        if (value === null) return null;
        if (
          !Array.isArray(value) ||
          value.length > 20 ||
          value.some((v) => typeof v !== "string" || !/^[a-z0-9_]{1,40}$/.test(v))
        )
          throw invalid(msg("payment_setting_invalid", { field: name }));
        return value as string[];
      },
    };
  },
};

function perCurrency<T>(read: (value: unknown, name: string) => T): SiteField<Record<string, T>> {
  return {
    read(body, name) {
      const value = body[name];
      if (value === undefined) return undefined;
      if (value === null) return null;
      if (typeof value !== "object" || Array.isArray(value))
        throw invalid(msg("payment_setting_invalid", { field: name }));
      const out: Record<string, T> = {};
      for (const [code, entry] of Object.entries(value))
        out[currencyCode(code, name)] = read(entry, `${name}.${code}`);
      return out;
    },
  };
}

function minorUnits(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > MAX_MINOR)
    throw invalid(msg("payment_setting_invalid", { field: name }));
  return value as number;
}

function currencyCode(value: unknown, name: string): string {
  const code = typeof value === "string" ? value.toUpperCase() : "";
  if (!CURRENCY_SHAPE.test(code)) throw invalid(msg("payment_setting_invalid", { field: name }));
  return code;
}
