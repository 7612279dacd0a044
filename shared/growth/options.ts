import { UNITS_PER_USD } from "../billing/units";
import { InvalidRequest } from "../errors";
import type { Services } from "../services";

/**
 * The site's growth options: the `checkin` and `invite` sections of the site settings
 * (docs/design/open-for-business.md §9). Both are off until the operator turns them on.
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

/** The site's growth options: the stored fields over the defaults. */
export async function readGrowthOptions(
  services: Services,
  consistent = false,
): Promise<{ checkin: CheckinOptions; invite: InviteOptions }> {
  const stored = consistent
    ? await services.growthOptions.read()
    : await services.growthOptions.get();
  return {
    checkin: { ...CHECKIN_DEFAULTS, ...(stored.checkin as Partial<CheckinOptions>) },
    invite: { ...INVITE_DEFAULTS, ...(stored.invite as Partial<InviteOptions>) },
  };
}

const MAX_UNITS = 10_000 * UNITS_PER_USD;

/**
 * The check-in options with an admin's changes (snake_case, as /api/option sends them) over
 * `current`; InvalidRequest naming the field that is wrong.
 */
export function changedCheckin(
  current: CheckinOptions,
  body: Record<string, unknown>,
): CheckinOptions {
  const next: CheckinOptions = {
    enabled: readBoolean(body, "enabled") ?? current.enabled,
    minUnits: readUnits(body, "min_units") ?? current.minUnits,
    maxUnits: readUnits(body, "max_units") ?? current.maxUnits,
    timezone: readString(body, "timezone") ?? current.timezone,
    requires: readOneOf(body, "requires", CHECKIN_REQUIREMENTS) ?? current.requires,
  };
  if (next.minUnits > next.maxUnits)
    throw new InvalidRequest("min_units must not be more than max_units.", "min_units");
  if (!isTimezone(next.timezone))
    throw new InvalidRequest("timezone is not an IANA timezone (e.g. Asia/Shanghai).", "timezone");
  return next;
}

/** The invitation options with an admin's changes over `current`. */
export function changedInvite(
  current: InviteOptions,
  body: Record<string, unknown>,
): InviteOptions {
  return {
    enabled: readBoolean(body, "enabled") ?? current.enabled,
    inviterUnits: readUnits(body, "inviter_units") ?? current.inviterUnits,
    inviteeUnits: readUnits(body, "invitee_units") ?? current.inviteeUnits,
    minPaidMinor: readUnits(body, "min_paid_minor") ?? current.minPaidMinor,
    maxPerMonth: readUnits(body, "max_per_month", 100_000) ?? current.maxPerMonth,
  };
}

/** How an admin reads the check-in options (snake_case). */
export const checkinView = (options: CheckinOptions) => ({
  enabled: options.enabled,
  min_units: options.minUnits,
  max_units: options.maxUnits,
  timezone: options.timezone,
  requires: options.requires,
});

export const inviteView = (options: InviteOptions) => ({
  enabled: options.enabled,
  inviter_units: options.inviterUnits,
  invitee_units: options.inviteeUnits,
  min_paid_minor: options.minPaidMinor,
  max_per_month: options.maxPerMonth,
});

function readBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw new InvalidRequest(`${name} must be true or false.`, name);
  return value;
}

function readUnits(
  body: Record<string, unknown>,
  name: string,
  max = MAX_UNITS,
): number | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > max)
    throw new InvalidRequest(`${name} must be a whole number from 0 to ${max}.`, name);
  return value;
}

function readString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length > 64)
    throw new InvalidRequest(`${name} must be a string of at most 64 characters.`, name);
  return value;
}

function readOneOf<T extends string>(
  body: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !allowed.includes(value as T))
    throw new InvalidRequest(`${name} must be one of: ${allowed.join(", ")}.`, name);
  return value as T;
}
