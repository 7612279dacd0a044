import { type FakeAccount, type OAuth2Fake, send, startOAuth2Fake } from "./oauth2-fake";

/**
 * GitHub's OAuth app endpoints, local: /login/oauth/authorize, /login/oauth/access_token
 * (a refusal is 200 with `error`, as GitHub answers), and the API under /api: /api/user (the
 * public profile: its `email` is whatever the user made public, verified or not) and
 * /api/user/emails (each address with `primary` and `verified`). Base URLs for sluice:
 * `SLUICE_GITHUB_BASE_URLS=<url>,<url>/api`.
 */
export function startGithubFake(redirectUri: string): Promise<OAuth2Fake> {
  return startOAuth2Fake(
    {
      authorizePath: "/login/oauth/authorize",
      tokenPath: "/login/oauth/access_token",
      clientAuth: "body",
      api: {
        "/api/user": (a: FakeAccount) => ({
          id: a.id,
          login: a.login,
          // The public profile's address, verified or not: never what sluice links by.
          email: a.email ?? null,
          name: a.login,
        }),
        "/api/user/emails": (a: FakeAccount) =>
          a.email
            ? [
                { email: a.email, primary: true, verified: a.verified, visibility: "private" },
                { email: `${a.login}@users.noreply.github.com`, primary: false, verified: true },
              ]
            : [],
      },
      refuse: (res, error) => send(res, 200, { error, error_description: error }),
    },
    { redirectUri, clientId: "demo-github-client" },
  );
}
