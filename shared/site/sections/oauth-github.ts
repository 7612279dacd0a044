import { InvalidRequest } from "../../errors";
import { invalid } from "../../management/envelope";
import { msg } from "../../messages/codes";
import { siteField } from "../fields";
import { defineSection, type SiteView } from "../section";

/**
 * Sign-in with GitHub (an OAuth app: Settings → Developer settings → OAuth Apps; callback URL
 * `<SLUICE_PUBLIC_ORIGIN>/api/oauth/github/callback`). The client secret is sealed.
 */
export const oauthGithub = defineSection({
  name: "oauth.github",
  fields: {
    enabled: siteField.boolean(),
    clientId: siteField.text({ max: 256 }),
  },
  secrets: { clientSecret: { max: 512 } },
  defaults: (): { enabled: boolean; clientId?: string } => ({ enabled: false }),
  check(values, site) {
    if (!values.enabled) return;
    requireOrigin(site);
    if (!values.clientId || !site.secretSet(oauthGithub, "clientSecret"))
      throw invalid(
        msg("oauth_settings_incomplete", {
          provider: "GitHub",
          fields: "client_id, client_secret",
        }),
      );
  },
  publicView: (values) => ({ oauth_github: values.enabled }),
});

/** OAuth is called back at the site's own address: without it, no provider may be enabled. */
export function requireOrigin(site: SiteView): void {
  if (!site.settings.edge.publicOrigin) throw new InvalidRequest(msg("oauth_origin_unset"));
}
