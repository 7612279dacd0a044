import type { Services } from "../../../shared/services";
import { epay } from "../../../shared/site/sections/epay";
import { stripe } from "../../../shared/site/sections/stripe";
import { type DemoEpayGateway, startDemoEpayGateway } from "./epay-gateway";
import { type DemoStripeApi, startDemoStripeApi } from "./stripe-api";

export interface DemoPayments {
  epay: DemoEpayGateway;
  stripe: DemoStripeApi;
  close(): Promise<void>;
}

/**
 * The local stack's payment providers: the demo EPay gateway, started and set in the
 * `payments.epay` section at start, so that `npm start` (and every test) can buy credit
 * offline. A site whose section names a gateway off this machine is left as its operator set
 * it. The site's public origin is the local API's own URL unless SLUICE_PUBLIC_ORIGIN says
 * otherwise (the URL is known only once the server listens).
 */
export async function startDemoPayments(
  services: Services,
  api: Services,
  url: string,
): Promise<DemoPayments> {
  api.settings.edge.publicOrigin ??= url;
  // The stack's own services run the sections' checks, which need the origin too.
  services.settings.edge.publicOrigin ??= api.settings.edge.publicOrigin;
  const gateway = await startDemoEpayGateway();
  const current = (await services.siteOptions.read()).of(epay);
  const operatorsOwn = current.gateway && !/^http:\/\/127\.0\.0\.1:/.test(current.gateway);
  if (!operatorsOwn) {
    await services.siteOptions.update({
      "payments.epay": { enabled: true, gateway: gateway.url, pid: gateway.pid, key: gateway.key },
    });
  }
  // Stripe: the demo API, unless the operator saved a Stripe key of their own (not a demo's).
  const demoStripe = await startDemoStripeApi(
    () => `${api.settings.edge.publicOrigin}/api/payment/stripe/webhook`,
  );
  const stripeKey = await services.siteOptions.secret(stripe, "secret_key");
  if (!stripeKey || stripeKey.startsWith("sk_test_sluicedemo_")) {
    api.settings.stripeApi ??= demoStripe.url;
    services.settings.stripeApi ??= demoStripe.url;
    await services.siteOptions.update({
      "payments.stripe": {
        enabled: true,
        secret_key: demoStripe.secretKey,
        webhook_secret: demoStripe.webhookSecret,
      },
    });
  }
  return {
    epay: gateway,
    stripe: demoStripe,
    close: async () => {
      await Promise.all([gateway.close(), demoStripe.close()]);
    },
  };
}
