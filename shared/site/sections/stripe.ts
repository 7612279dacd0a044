import { invalid } from "../../management/envelope";
import { msg } from "../../messages/codes";
import { paymentField } from "../../payments/fields";
import { siteField } from "../fields";
import { defineSection } from "../section";
import { checkProviderReady } from "./payments";

export interface StripeSettings {
  enabled: boolean;
  currency: string;
  /** Checkout's `payment_method_types`; empty: Stripe picks. */
  methods: string[];
}

/**
 * Stripe Checkout, design brief §4.3: the secret key and the webhook's signing secret (both
 * sealed). Never enabled without both (checkout with no verified webhook would never credit).
 */
export const stripe = defineSection({
  name: "payments.stripe",
  fields: {
    enabled: siteField.boolean(),
    currency: paymentField.currency(),
    methods: paymentField.names(),
  },
  secrets: { secret_key: { max: 256 }, webhook_secret: { max: 256 } },
  defaults: (): StripeSettings => ({ enabled: false, currency: "USD", methods: [] }),
  check(values, site) {
    if (!values.enabled) return;
    if (!site.secretSet(stripe, "secret_key") || !site.secretSet(stripe, "webhook_secret"))
      throw invalid(msg("payment_provider_incomplete", { provider: "stripe" }));
    checkProviderReady("stripe", values.currency, site);
  },
  adminView: (values, site): Record<string, unknown> => ({
    enabled: values.enabled,
    currency: values.currency,
    methods: values.methods,
    secret_key_set: site.secretSet(stripe, "secret_key"),
    webhook_secret_set: site.secretSet(stripe, "webhook_secret"),
    webhook_url: site.settings.edge.publicOrigin
      ? `${site.settings.edge.publicOrigin}/api/payment/stripe/webhook`
      : null,
  }),
});
