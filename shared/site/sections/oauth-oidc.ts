import { invalid } from "../../management/envelope";
import { msg } from "../../messages/codes";
import { siteField } from "../fields";
import { defineSection } from "../section";
import { requireOrigin } from "./oauth-github";

/**
 * Sign-in with an OpenID Connect provider (Keycloak, Authentik, Google, Azure AD, …): its
 * issuer (discovery at `<issuer>/.well-known/openid-configuration`), a confidential client, and
 * the button's label. Callback URL: `<SLUICE_PUBLIC_ORIGIN>/api/oauth/oidc/callback`.
 */
export const oauthOidc = defineSection({
  name: "oauth.oidc",
  fields: {
    enabled: siteField.boolean(),
    issuer: siteField.text({ max: 512 }),
    clientId: siteField.text({ max: 256 }),
    label: siteField.text({ max: 64 }),
  },
  secrets: { clientSecret: { max: 1024 } },
  defaults: (): { enabled: boolean; issuer?: string; clientId?: string; label?: string } => ({
    enabled: false,
  }),
  check(values, site) {
    if (values.issuer !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(values.issuer);
      } catch {
        // refused below
      }
      const loopback = url?.hostname === "127.0.0.1" || url?.hostname === "localhost";
      if (!url || !(url.protocol === "https:" || (url.protocol === "http:" && loopback)))
        throw invalid(msg("oauth_issuer_invalid"));
    }
    if (!values.enabled) return;
    requireOrigin(site);
    if (!values.issuer || !values.clientId || !site.secretSet(oauthOidc, "clientSecret"))
      throw invalid(
        msg("oauth_settings_incomplete", {
          provider: "OpenID Connect",
          fields: "issuer, client_id, client_secret",
        }),
      );
  },
  publicView: (values) => ({
    oauth_oidc: values.enabled,
    oauth_oidc_label: values.enabled ? (values.label ?? "OpenID Connect") : null,
  }),
});
