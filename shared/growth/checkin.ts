import { createHash } from "node:crypto";
import { Conflict, Forbidden, StoreUnavailable } from "../errors";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import { type Checkin, checkinWork } from "../store/checkins";
import type { UserProfile } from "../store/users";
import type { CheckinOptions } from "./options";

/**
 * The daily check-in (docs/design/open-for-business.md §9.1), on the once-pattern of
 * payments: the day is claimed by a conditional put of its item, credited through the
 * ledger's `checkin:<user>:<date>` reference, then marked credited. Whatever stops it
 * half-way, the claim's janitor entry finishes it; whatever races it, the claim is made once
 * and the ledger adds the reference once.
 */

/** Today (YYYY-MM-DD) in `timezone` at `ms` (unix milliseconds). */
export function checkinDate(ms: number, timezone: string): string {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(ms);
}

/**
 * What a user's check-in of `date` is worth: spread over [min, max] by a hash of both, so
 * that every attempt of that day (a retry, the janitor's) credits the same.
 */
export function checkinUnits(userId: string, date: string, min: number, max: number): number {
  const digest = createHash("sha256").update(`${userId}|${date}`).digest();
  return min + (digest.readUIntBE(0, 6) % (max - min + 1));
}

/** The user is not yet one whom the site lets check in (options.requires). */
function mayCheckIn(user: UserProfile, options: CheckinOptions): boolean {
  if (options.requires === "any") return true;
  const paid = user.firstPaidAt !== undefined;
  if (options.requires === "paid") return paid;
  const verified = user.emailVerified === true;
  return paid || verified || user.trial?.state === "granted";
}

/**
 * Checks the user in for today: the day's units to their bonus bucket. Conflict when today's
 * check-in was credited already (by this request's race, or before), Forbidden when the site
 * offers none or the user may not yet.
 */
export async function checkIn(
  services: Services,
  user: UserProfile,
  options: CheckinOptions,
  requestId: string,
): Promise<{ date: string; units: number }> {
  if (!options.enabled) throw new Forbidden(msg("checkin_off"));
  if (!mayCheckIn(user, options))
    throw new Forbidden(
      msg(options.requires === "paid" ? "checkin_needs_paid" : "checkin_needs_verified"),
    );
  const date = checkinDate(services.clock.now(), options.timezone);
  const units = checkinUnits(user.id, date, options.minUnits, options.maxUnits);
  const { made, checkin } = await services.checkins.claim({
    userId: user.id,
    date,
    units,
    at: services.clock.seconds(),
  });
  // A `claimed` one found is an attempt that stopped half-way (or one racing this): finishing
  // it is harmless, the ledger adds its reference once.
  if (!made && checkin.state === "credited") throw alreadyToday();
  if ((await creditCheckin(services, checkin, requestId)) === "duplicate") throw alreadyToday();
  return { date, units: checkin.units };
}

const alreadyToday = () => new Conflict(msg("checkin_already_today"));

/**
 * Credits a claimed check-in (its own units, as claimed), marks it credited and takes it off
 * the janitor's agenda. "duplicate" when its top-up had landed already.
 */
export async function creditCheckin(
  services: Services,
  checkin: Checkin,
  requestId: string,
): Promise<"applied" | "duplicate"> {
  const outcome = await services.ledger.topUp(checkin.userId, {
    reference: `checkin:${checkin.userId}:${checkin.date}`,
    bucket: "bonus",
    units: checkin.units,
    by: checkin.userId,
    requestId,
  });
  // The money is in; the marks only spare the janitor its work. One that fails (the item is
  // in a racing attempt's transaction, say) is left to the janitor, which finds the top-up
  // done and marks it: this attempt's answer is the ledger's.
  try {
    await services.checkins.markCredited(checkin.userId, checkin.date);
    await services.schedule.done(checkinWork(checkin));
  } catch (err) {
    if (!(err instanceof StoreUnavailable)) throw err;
    services.log.warn("check-in credited, not marked: the janitor will", {
      userId: checkin.userId,
      date: checkin.date,
    });
  }
  return outcome;
}
