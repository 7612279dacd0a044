import { siteField } from "../fields";
import { defineSection } from "../section";

/**
 * How a new account earns the site's free trial quota (management/trial-credit.ts): at once,
 * after a Cloudflare Turnstile check at sign-up, or when an admin approves it. Email
 * verification (issue 22) joins here as a fourth.
 */
export type TrialVerification = "none" | "turnstile" | "approval" | "email";
export const TRIAL_VERIFICATIONS: readonly TrialVerification[] = [
  "none",
  "turnstile",
  "approval",
  // Stream e-mail: granted once the account's e-mail address is verified.
  "email",
];

/** The free quota a new account is offered, and what earns it. */
export const trial = defineSection({
  name: "trial",
  fields: {
    /** Free quota (units) a new account is given, once it passes `verification`. */
    newUserQuota: siteField.integer({ min: 0, max: 500_000_000 }, "newUserQuota"),
    verification: siteField.oneOf(TRIAL_VERIFICATIONS, "trialVerification"),
  },
  defaults: (settings) => ({
    newUserQuota: settings.console.newUserQuota,
    // A value that is not one of them hands out nothing until an admin approves.
    verification: (TRIAL_VERIFICATIONS as readonly string[]).includes(
      settings.console.trialVerification,
    )
      ? (settings.console.trialVerification as TrialVerification)
      : ("approval" as TrialVerification),
  }),
});
