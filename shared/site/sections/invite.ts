import { UNITS_PER_USD } from "../../billing/units";
import { INVITE_DEFAULTS, type InviteOptions } from "../../growth/options";
import { siteField } from "../fields";
import { defineSection } from "../section";

const MAX_UNITS = 10_000 * UNITS_PER_USD;

/**
 * Invitation rewards (growth/first-paid.ts): off by default; paid once the invitee's first
 * order of at least `min_paid_minor` is credited, at most `max_per_month` per inviter.
 */
export const invite = defineSection({
  name: "invite",
  fields: {
    enabled: siteField.boolean(),
    inviterUnits: siteField.integer({ min: 0, max: MAX_UNITS }),
    inviteeUnits: siteField.integer({ min: 0, max: MAX_UNITS }),
    minPaidMinor: siteField.integer({ min: 0, max: 100_000_000 }),
    maxPerMonth: siteField.integer({ min: 0, max: 100_000 }),
  },
  defaults: (): InviteOptions => ({ ...INVITE_DEFAULTS }),
  publicView: (values) => ({ invite_enabled: values.enabled }),
});
