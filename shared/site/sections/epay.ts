import { invalid } from "../../management/envelope";
import { msg } from "../../messages/codes";
import { paymentField } from "../../payments/fields";
import { siteField } from "../fields";
import { defineSection } from "../section";
import { checkProviderReady } from "./payments";

export interface EpaySettings {
  enabled: boolean;
  /** The gateway's base URL (its submit.php is under it): https, or http on this machine. */
  gateway?: string;
  /** The merchant id. */
  pid?: string;
  /** The EPay `type`s the console offers (alipay, wxpay, qqpay…). */
  types: string[];
  currency: string;
}

/**
 * EPay V1 (易支付), design brief §4.4: the gateway, the merchant id and its key (sealed).
 * Enabled only with all three and the site's public origin.
 */
export const epay = defineSection({
  name: "payments.epay",
  fields: {
    enabled: siteField.boolean(),
    gateway: siteField.text({ max: 300 }),
    pid: siteField.text({ max: 64 }),
    types: paymentField.names(),
    currency: paymentField.currency(),
  },
  secrets: { key: { max: 256 } },
  defaults: (): EpaySettings => ({ enabled: false, types: ["alipay", "wxpay"], currency: "CNY" }),
  check(values, site) {
    if (!values.enabled) return;
    if (!values.pid || !site.secretSet(epay, "key") || !values.gateway)
      throw invalid(msg("payment_provider_incomplete", { provider: "epay" }));
    let gateway: URL | undefined;
    try {
      gateway = new URL(values.gateway);
    } catch {
      // Refused below.
    }
    const local = gateway && ["localhost", "127.0.0.1", "[::1]"].includes(gateway.hostname);
    if (!gateway || !(gateway.protocol === "https:" || (gateway.protocol === "http:" && local)))
      throw invalid(msg("payment_setting_invalid", { field: "gateway" }));
    checkProviderReady("epay", values.currency, site);
  },
  adminView: (values, site): Record<string, unknown> => ({
    enabled: values.enabled,
    gateway: values.gateway ?? null,
    pid: values.pid ?? null,
    types: values.types,
    currency: values.currency,
    key_set: site.secretSet(epay, "key"),
    notify_url: site.settings.edge.publicOrigin
      ? `${site.settings.edge.publicOrigin}/api/payment/epay/notify`
      : null,
  }),
});
