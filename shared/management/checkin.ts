import { unitsToDollars } from "../billing/units";
import { checkIn, checkinDate } from "../growth/checkin";
import { readJsonObject } from "../http/body";
import { userRoute } from "../http/route";
import { msg } from "../messages/codes";
import { checkin as checkinSection } from "../site/sections/checkin";
import { turnstile } from "../site/sections/turnstile";
import type { Checkin } from "../store/checkins";
import { invalid, ok } from "./envelope";
import { passTurnstile } from "./trial-credit";

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/**
 * POST /api/user/checkin: today's check-in (in the site's timezone), credited to the bonus
 * bucket once: of any number at once, one is credited and the others get 409.
 */
export const postCheckin = userRoute("POST", "/api/user/checkin", async (call) => {
  const { services } = call;
  const checkin = (await services.siteOptions.get()).of(checkinSection);
  // The human check, when the site asks for one, before anything is written.
  if (checkin.turnstile) await passTurnstile(call, readJsonObject(call.request), "checkin");
  const user = (await services.users.get(call.principal.user.id, true)) ?? call.principal.user;
  const { date, units } = await checkIn(services, user, checkin, call.request.id);
  services.auth.forgetAll();
  return ok({ date, quota: units, quota_dollar: unitsToDollars(units) });
});

/**
 * GET /api/user/checkin?month=YYYY-MM: the month's check-ins (this month's by default),
 * whether today's is done, the streak of days in a row up to today, and what the site offers.
 */
export const getCheckins = userRoute("GET", "/api/user/checkin", async (call) => {
  const { services } = call;
  const site = await services.siteOptions.get();
  const checkin = site.of(checkinSection);
  const today = checkinDate(services.clock.now(), checkin.timezone);
  const month = call.request.query.get("month") ?? today.slice(0, 7);
  if (!MONTH.test(month))
    throw invalid(msg("checkin_month_invalid", { month: month.slice(0, 16) }));
  const userId = call.principal.user.id;
  const days = await services.checkins.month(userId, month);
  const thisMonth =
    month === today.slice(0, 7) ? days : await services.checkins.month(userId, today.slice(0, 7));
  const lastMonth = await services.checkins.month(userId, previousMonth(today));
  return ok({
    enabled: checkin.enabled,
    today,
    checked_in_today: thisMonth.some((day) => day.date === today),
    streak: streakTo(today, [...lastMonth, ...thisMonth]),
    min_units: checkin.minUnits,
    max_units: checkin.maxUnits,
    // The card renders Turnstile's widget with it when the check-in needs the human check.
    turnstile_site_key: checkin.turnstile ? (site.of(turnstile).siteKey ?? null) : null,
    days: days.map((day) => ({
      date: day.date,
      quota: day.units,
      quota_dollar: unitsToDollars(day.units),
    })),
  });
});

function previousMonth(date: string): string {
  const [year, month] = date.split("-").map(Number) as [number, number];
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, "0")}`;
}

/** Days in a row with a check-in, ending today (or yesterday, when today's is not done yet). */
function streakTo(today: string, checkins: Checkin[]): number {
  const dates = new Set(checkins.map((checkin) => checkin.date));
  const day = new Date(`${today}T00:00:00Z`);
  if (!dates.has(today)) day.setUTCDate(day.getUTCDate() - 1);
  let streak = 0;
  while (dates.has(day.toISOString().slice(0, 10))) {
    streak++;
    day.setUTCDate(day.getUTCDate() - 1);
  }
  return streak;
}
