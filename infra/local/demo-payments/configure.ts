import { checkPaymentOptions } from "../../../shared/payments/options";
import type { Services } from "../../../shared/services";
import { type DemoEpayGateway, startDemoEpayGateway } from "./epay-gateway";

export interface DemoPayments {
  epay: DemoEpayGateway;
  close(): Promise<void>;
}

/**
 * The local stack's payment providers: the demo EPay gateway, started and set in the
 * payment settings at start, so that `npm start` (and every test) can buy credit offline.
 * A site whose settings name a provider that is not a demo (a gateway off this machine) is
 * left as its operator set it. The site's public origin is the local API's own URL unless
 * SLUICE_PUBLIC_ORIGIN says otherwise (it is known only once the server listens).
 */
export async function startDemoPayments(
  services: Services,
  api: Services,
  url: string,
): Promise<DemoPayments> {
  api.settings.edge.publicOrigin ??= url;
  const origin = api.settings.edge.publicOrigin;
  const epay = await startDemoEpayGateway();
  const { options } = await services.paymentSettings.get();
  const operatorsOwn =
    options.epay.gateway && !/^http:\/\/127\.0\.0\.1:/.test(options.epay.gateway);
  if (!operatorsOwn) {
    await services.paymentSettings.update(
      {
        ...options,
        epay: { ...options.epay, enabled: true, gateway: epay.url, pid: epay.pid },
      },
      { "epay.key": epay.key },
      (next, saved) => checkPaymentOptions(next, saved, origin),
    );
  }
  return { epay, close: epay.close };
}
