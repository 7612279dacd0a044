import { UNITS_PER_USD } from "../../billing/units";
import {
  CHECKIN_DEFAULTS,
  CHECKIN_REQUIREMENTS,
  type CheckinOptions,
  isTimezone,
} from "../../growth/options";
import { invalid } from "../../management/envelope";
import { msg } from "../../messages/codes";
import { siteField } from "../fields";
import { defineSection } from "../section";
import { turnstile } from "./turnstile";

const MAX_UNITS = 10_000 * UNITS_PER_USD;

/**
 * The daily check-in (growth/checkin.ts): off by default; a day's amount within
 * [min_units, max_units] to the bonus bucket, days starting at midnight in `timezone`.
 */
export const checkin = defineSection({
  name: "checkin",
  fields: {
    enabled: siteField.boolean(),
    minUnits: siteField.integer({ min: 0, max: MAX_UNITS }),
    maxUnits: siteField.integer({ min: 0, max: MAX_UNITS }),
    timezone: siteField.text({ max: 64 }),
    requires: siteField.oneOf(CHECKIN_REQUIREMENTS),
    turnstile: siteField.boolean(),
  },
  defaults: (): CheckinOptions => ({ ...CHECKIN_DEFAULTS }),
  check(values, site) {
    if (values.minUnits > values.maxUnits)
      throw invalid(
        msg("checkin_range_inverted", { min_units: values.minUnits, max_units: values.maxUnits }),
      );
    if (!isTimezone(values.timezone))
      throw invalid(msg("checkin_timezone_unknown", { timezone: values.timezone }));
    const secret = site.secretSet(turnstile, "secret") || site.settings.console.turnstileSecret;
    if (values.turnstile && (!site.of(turnstile).siteKey || !secret))
      throw invalid(msg("checkin_turnstile_unconfigured"));
  },
  // The dashboard renders Turnstile's widget on the check-in card when it has this key.
  publicView: (values, site) => ({
    checkin_enabled: values.enabled,
    checkin_turnstile_site_key: values.turnstile ? (site.of(turnstile).siteKey ?? null) : null,
  }),
});
