/** Growth (stream E): the daily check-in and invitations. */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  checkin_off: NoParams;
  checkin_needs_verified: NoParams;
  checkin_needs_paid: NoParams;
  checkin_already_today: NoParams;
  /** `month` as sent (the check-in list's query). */
  checkin_month_invalid: { month: string };
  /** The options: `timezone` as sent. */
  checkin_timezone_unknown: { timezone: string };
  /** The options: the least a check-in gives above the most (units). */
  checkin_range_inverted: { min_units: number; max_units: number };
  invite_code_unknown: NoParams;
  /** The options: the check-in's human check turned on without the turnstile section's keys. */
  checkin_turnstile_unconfigured: NoParams;
}

export const en: Entries<Messages> = {
  checkin_off: () => "Daily check-in is not offered on this site.",
  checkin_needs_verified: () =>
    "Daily check-in is for accounts with a verified e-mail address or a granted trial.",
  checkin_needs_paid: () => "Daily check-in is for accounts that have paid for a top-up.",
  checkin_already_today: () => "You have checked in today already. Come back tomorrow.",
  checkin_month_invalid: (p) => `month must be YYYY-MM (not ${p.month}).`,
  checkin_timezone_unknown: (p) =>
    `timezone must be an IANA timezone such as Asia/Shanghai or UTC (not ${p.timezone}).`,
  checkin_range_inverted: (p, f) =>
    `min_units (${f.number(p.min_units)}) must not be more than max_units (${f.number(p.max_units)}).`,
  invite_code_unknown: () =>
    "That invitation code names no user here. Check the link, or register without it.",
  checkin_turnstile_unconfigured: () =>
    "The check-in's human check needs turnstile_site_key and turnstile_secret (or the SLUICE_TURNSTILE_SECRET setting).",
};

export const zh: Entries<Messages> = {
  checkin_off: () => "本站未开放每日签到。",
  checkin_needs_verified: () => "每日签到仅限邮箱已验证或试用额度已发放的账户。",
  checkin_needs_paid: () => "每日签到仅限已充值过的账户。",
  checkin_already_today: () => "今天已经签到过了，明天再来。",
  checkin_month_invalid: (p) => `month 应为 YYYY-MM 格式（收到的是 ${p.month}）。`,
  checkin_timezone_unknown: (p) =>
    `时区应为 IANA 时区名称，如 Asia/Shanghai 或 UTC（收到的是 ${p.timezone}）。`,
  checkin_range_inverted: (p, f) =>
    `每次签到最少额度（${f.number(p.min_units)}）不能大于最多额度（${f.number(p.max_units)}）。`,
  invite_code_unknown: () => "该邀请码不属于本站任何用户。请检查链接，或不使用邀请码注册。",
  checkin_turnstile_unconfigured: () =>
    "签到的人机验证需要先设置 turnstile_site_key 和 turnstile_secret（或 SLUICE_TURNSTILE_SECRET 设置）。",
};

export const samples: Samples<Messages> = {
  checkin_off: {},
  checkin_needs_verified: {},
  checkin_needs_paid: {},
  checkin_already_today: {},
  checkin_month_invalid: { month: "2026-13" },
  checkin_timezone_unknown: { timezone: "Mars/Olympus" },
  checkin_range_inverted: { min_units: 9_000, max_units: 10 },
  invite_code_unknown: {},
  checkin_turnstile_unconfigured: {},
};
