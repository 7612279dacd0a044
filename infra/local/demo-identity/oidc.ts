import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A real OpenID Connect provider, in-process (panva's oidc-provider): discovery, its own login
 * and consent pages (devInteractions: any login and password are taken), code flow with PKCE,
 * signed id_tokens. One static confidential client calls back to sluice. An account's
 * `email_verified` is false when its login starts with "unverified", so tests can tell the
 * two apart; its e-mail is `<login>@oidc.test`.
 */
export interface OidcFake {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

export async function startOidcFake(redirectUri: string): Promise<OidcFake> {
  const { default: Provider } = await quietly(() => import("oidc-provider"));
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const clientSecret = randomBytes(16).toString("hex");
  const provider = await quietly(
    () =>
      new Provider(issuer, {
        clients: [
          {
            client_id: "demo-oidc-client",
            client_secret: clientSecret,
            redirect_uris: [redirectUri],
            grant_types: ["authorization_code"],
            response_types: ["code"],
          },
        ],
        claims: {
          openid: ["sub"],
          email: ["email", "email_verified"],
          profile: ["preferred_username", "name"],
        },
        async findAccount(_ctx, sub) {
          return {
            accountId: sub,
            claims: async () => ({
              sub,
              email: `${sub}@oidc.test`,
              email_verified: !sub.startsWith("unverified"),
              preferred_username: sub,
              name: sub,
            }),
          };
        },
        // The claims go into the id_token itself, so the client needs no userinfo call.
        conformIdTokenClaims: false,
        cookies: { keys: [randomBytes(16).toString("hex")] },
        features: { devInteractions: { enabled: true } },
        // Lifetimes of its own (seconds): the package's defaults work, but print a notice on
        // first use each, into the test run's log.
        ttl: {
          Interaction: 3_600,
          Session: 86_400,
          Grant: 86_400,
          AccessToken: 3_600,
          IdToken: 3_600,
          AuthorizationCode: 600,
        },
      }),
  );
  server.on("request", provider.callback());
  return {
    issuer,
    clientId: "demo-oidc-client",
    clientSecret,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Runs `make` with oidc-provider's start-up warnings held back: as a local fake it uses the
 * development keys and login pages on purpose (and runs on Node 20, which it calls
 * unsupported but works on), and says so on every start, which would fill every test run's
 * log (the rest of console.warn passes through).
 */
async function quietly<T>(make: () => T | Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].startsWith("oidc-provider WARNING")) return;
    warn(...args);
  };
  try {
    return await make();
  } finally {
    console.warn = warn;
  }
}
