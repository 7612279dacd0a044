import { createServer } from "node:net";
import type { Services } from "../../../shared/services";
import { startGithubFake } from "./github";
import { startLinuxdoFake } from "./linuxdo";
import { startOidcFake } from "./oidc";

/**
 * The local stack's sign-in providers (stream D): GitHub and LINUX DO fakes and a real OIDC
 * provider, all calling back to `origin`, the stack's own address. `env` points sluice at them
 * (set before its services are made); `configure` enables the three sign-in sections with
 * their clients, once the services exist. Tests never change these sections.
 */
export async function startDemoIdentity(origin: string) {
  const callback = (provider: string) => `${origin}/api/oauth/${provider}/callback`;
  const [github, linuxdo, oidc] = await Promise.all([
    startGithubFake(callback("github")),
    startLinuxdoFake(callback("linuxdo")),
    startOidcFake(callback("oidc")),
  ]);
  return {
    github,
    linuxdo,
    oidc,
    env: {
      SLUICE_PUBLIC_ORIGIN: origin,
      SLUICE_GITHUB_BASE_URLS: `${github.url},${github.url}/api`,
      SLUICE_LINUXDO_BASE_URLS: linuxdo.url,
    },
    async configure(services: Services): Promise<void> {
      await services.siteOptions.update({
        "oauth.github": {
          enabled: true,
          clientId: github.clientId,
          clientSecret: github.clientSecret,
        },
        "oauth.linuxdo": {
          enabled: true,
          clientId: linuxdo.clientId,
          clientSecret: linuxdo.clientSecret,
          minTrustLevel: 1,
        },
        "oauth.oidc": {
          enabled: true,
          issuer: oidc.issuer,
          clientId: oidc.clientId,
          clientSecret: oidc.clientSecret,
          label: "Demo OIDC",
        },
      });
    },
    async stop(): Promise<void> {
      await Promise.all([github.close(), linuxdo.close(), oidc.close()]);
    },
  };
}

/** A port free now on the loopback (the stack's origin must be known before it listens). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
