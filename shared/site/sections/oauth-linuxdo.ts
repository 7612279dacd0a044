import { invalid } from "../../management/envelope";
import { msg } from "../../messages/codes";
import { siteField } from "../fields";
import { defineSection } from "../section";
import { requireOrigin } from "./oauth-github";

/**
 * Sign-in with LINUX DO (connect.linux.do; callback URL
 * `<SLUICE_PUBLIC_ORIGIN>/api/oauth/linuxdo/callback`). `min_trust_level` refuses accounts of a
 * lower trust level (new-api's LinuxDOMinimumTrustLevel); silenced accounts are always refused.
 */
export const oauthLinuxdo = defineSection({
  name: "oauth.linuxdo",
  fields: {
    enabled: siteField.boolean(),
    clientId: siteField.text({ max: 256 }),
    minTrustLevel: siteField.integer({ min: 0, max: 4 }),
  },
  secrets: { clientSecret: { max: 512 } },
  defaults: (): { enabled: boolean; clientId?: string; minTrustLevel: number } => ({
    enabled: false,
    minTrustLevel: 0,
  }),
  check(values, site) {
    if (!values.enabled) return;
    requireOrigin(site);
    if (!values.clientId || !site.secretSet(oauthLinuxdo, "clientSecret"))
      throw invalid(
        msg("oauth_settings_incomplete", {
          provider: "LINUX DO",
          fields: "client_id, client_secret",
        }),
      );
  },
  publicView: (values) => ({ oauth_linuxdo: values.enabled }),
});
