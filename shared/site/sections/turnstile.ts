import { invalid } from "../../management/envelope";
import { msg } from "../../messages/codes";
import { siteField } from "../fields";
import { defineSection } from "../section";
import { trial } from "./trial";

export const TURNSTILE_SECRET_MAX = 512;

/**
 * Cloudflare Turnstile's keys, for the trial's human check (`trial.verification` turnstile):
 * the site key is public (the register page renders the widget with it), the secret is sealed
 * and opened only by registration (SLUICE_TURNSTILE_SECRET stands in when none is saved).
 */
export const turnstile = defineSection({
  name: "turnstile",
  fields: { siteKey: siteField.text({ max: 256 }, "turnstileSiteKey") },
  secrets: { secret: { max: TURNSTILE_SECRET_MAX, legacyAttribute: "turnstileSecret" } },
  defaults: (): { siteKey?: string } => ({}),
  check(values, site) {
    if (site.of(trial).verification !== "turnstile") return;
    const secret = site.secretSet(turnstile, "secret") || site.settings.console.turnstileSecret;
    if (!values.siteKey || !secret) throw invalid(msg("turnstile_needs_keys"));
  },
  // Shown only while the check is on: the register page renders the widget when it has a key.
  publicView: (values, site) => ({
    turnstile_site_key:
      site.of(trial).verification === "turnstile" ? (values.siteKey ?? null) : null,
  }),
});
