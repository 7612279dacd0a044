import type { Services } from "../../../shared/services";
import { epay } from "../../../shared/site/sections/epay";
import { type DemoEpayGateway, startDemoEpayGateway } from "./epay-gateway";

export interface DemoPayments {
  epay: DemoEpayGateway;
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
  return { epay: gateway, close: gateway.close };
}
