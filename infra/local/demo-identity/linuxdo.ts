import { type FakeAccount, type OAuth2Fake, send, startOAuth2Fake } from "./oauth2-fake";

/**
 * LINUX DO Connect's endpoints, local: /oauth2/authorize, /oauth2/token (client by HTTP
 * Basic; a refusal is 400 with `error`, per RFC 6749) and /api/user (`id`, `username`, `name`,
 * `trust_level`, `active`, `silenced`; no e-mail). Base URL for sluice:
 * `SLUICE_LINUXDO_BASE_URLS=<url>`.
 */
export function startLinuxdoFake(redirectUri: string): Promise<OAuth2Fake> {
  return startOAuth2Fake(
    {
      authorizePath: "/oauth2/authorize",
      tokenPath: "/oauth2/token",
      clientAuth: "basic",
      api: {
        "/api/user": (a: FakeAccount) => ({
          id: a.id,
          username: a.login,
          name: a.login,
          trust_level: a.trustLevel,
          active: true,
          silenced: a.silenced,
        }),
      },
      refuse: (res, error) => send(res, 400, { error }),
    },
    { redirectUri, clientId: "demo-linuxdo-client" },
  );
}
