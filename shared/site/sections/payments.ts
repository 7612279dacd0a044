import { invalid } from "../../management/envelope";
import { msg } from "../../messages/codes";
import { paymentField } from "../../payments/fields";
import { defineSection, type SiteView } from "../section";

export interface PaymentAmounts {
  /** Preset amounts per currency (ISO, upper case), in minor units. */
  amounts: Record<string, number[]>;
  /** The least and the most one order may be, per currency, in minor units. */
  min: Record<string, number>;
  max: Record<string, number>;
  /** Quota units per *major* unit of each currency (500,000 = $1 of quota): the exchange rate. */
  unitsPer: Record<string, number>;
}

/**
 * What customers may buy (design brief §4.1): preset amounts, minimum and maximum, and the
 * exchange rate, per currency. The providers are `payments.stripe` and `payments.epay`.
 */
export const payments = defineSection({
  name: "payments",
  fields: {
    amounts: paymentField.amounts(),
    min: paymentField.minorPerCurrency(),
    max: paymentField.minorPerCurrency(),
    unitsPer: paymentField.ratePerCurrency(),
  },
  defaults: (): PaymentAmounts => ({
    amounts: { USD: [500, 1000, 2000, 5000], CNY: [3500, 7000, 14000, 35000] },
    min: { USD: 100, CNY: 500 },
    max: { USD: 100_000, CNY: 700_000 },
    unitsPer: { USD: 500_000, CNY: 75_000 },
  }),
});

/**
 * The rule every provider's section checks when it is enabled: the site's public origin is
 * known (notify and return URLs are built from it, never from a request's Host), and its
 * currency has a rate and a minimum.
 */
export function checkProviderReady(provider: string, currency: string, site: SiteView): void {
  if (!site.settings.edge.publicOrigin) throw invalid(msg("payments_need_public_origin"));
  const amounts = site.of(payments);
  if (!amounts.unitsPer[currency] || amounts.min[currency] === undefined)
    throw invalid(msg("payment_currency_unset", { provider, currency }));
  if ((amounts.max[currency] ?? Number.POSITIVE_INFINITY) < (amounts.min[currency] as number))
    throw invalid(msg("payment_setting_invalid", { field: "max" }));
}
