/**
 * The growth options' values and defaults: the site settings' `checkin` and `invite` sections
 * (shared/site/sections/; docs/design/open-for-business.md §9). Both are off until the operator
 * turns them on.
 */

/** Who may check in: anyone, a user whose e-mail is verified or whose trial was granted, or a paying one. */
export type CheckinRequirement = "any" | "verified" | "paid";
export const CHECKIN_REQUIREMENTS: readonly CheckinRequirement[] = ["any", "verified", "paid"];

export interface CheckinOptions {
  enabled: boolean;
  /** A day's check-in credits between these (units, both included) to the bonus bucket. */
  minUnits: number;
  maxUnits: number;
  /** The IANA timezone whose midnight starts a new day. */
  timezone: string;
  requires: CheckinRequirement;
  /** Whether a check-in needs Cloudflare Turnstile's human check (the turnstile section's keys). */
  turnstile: boolean;
}

export interface InviteOptions {
  enabled: boolean;
  /** Credited to the inviter's bonus bucket once the invitee pays (units). */
  inviterUnits: number;
  /** Credited to the invitee's bonus bucket then too (units; 0: nothing). */
  inviteeUnits: number;
  /** The smallest credited order (minor units of its currency) that earns the reward. */
  minPaidMinor: number;
  /** Rewards paid to one inviter per calendar month (UTC) at most; more invitees earn nothing. */
  maxPerMonth: number;
}

export const CHECKIN_DEFAULTS: CheckinOptions = {
  enabled: false,
  minUnits: 1_000,
  maxUnits: 10_000,
  timezone: "UTC",
  requires: "verified",
  turnstile: false,
};

export const INVITE_DEFAULTS: InviteOptions = {
  enabled: false,
  inviterUnits: 500_000,
  inviteeUnits: 0,
  minPaidMinor: 100,
  maxPerMonth: 20,
};

/** Whether the runtime knows `timezone` as an IANA name. */
export function isTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}
