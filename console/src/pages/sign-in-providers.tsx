import type { SiteStatus } from "../api";
import { getLang, t } from "../i18n";
import { translate } from "../messages/translate";
import { route } from "../router";

/** Which outside sign-ins the site offers, from /api/status (the sections' public views). */
export function providers(status: SiteStatus | undefined): { name: string; label: string }[] {
  if (!status) return [];
  return [
    ...(status.oauth_github ? [{ name: "github", label: "GitHub" }] : []),
    ...(status.oauth_linuxdo ? [{ name: "linuxdo", label: "LINUX DO" }] : []),
    ...(status.oauth_oidc
      ? [{ name: "oidc", label: status.oauth_oidc_label ?? "OpenID Connect" }]
      : []),
  ];
}

/**
 * "Sign in with …" links: each a top-level navigation to /api/oauth/<provider>/start (the
 * server seals the sign-in's state in a cookie and sends the browser to the provider), and the
 * refusal a callback came back with (`?error=<code>` and its params), in the reader's language.
 */
export function SignInProviders(props: { status: SiteStatus | undefined }) {
  const list = providers(props.status);
  return (
    <>
      <OAuthRefusal />
      {list.length > 0 ? (
        <div class="sign-in-providers">
          <p class="muted">{t("oauth_or")}</p>
          {list.map((provider) => (
            <a
              key={provider.name}
              class="button"
              href={`/api/oauth/${provider.name}/start?intent=login&lang=${getLang()}`}
            >
              {t("oauth_sign_in_with", { provider: provider.label })}
            </a>
          ))}
        </div>
      ) : null}
    </>
  );
}

/** The refusal an OAuth callback sent the browser back with (`?error=<code>&<params>`). */
export function OAuthRefusal() {
  const { query } = route.use();
  const code = query.get("error");
  if (!code) return null;
  const params = Object.fromEntries([...query].filter(([name]) => name !== "error"));
  return (
    <p class="error" role="alert" data-testid="oauth-refusal">
      {translate({ message: t("oauth_refused"), code, params })}
    </p>
  );
}
