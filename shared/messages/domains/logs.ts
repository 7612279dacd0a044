/** The usage log and its daily totals. */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  log_cursor_invalid: NoParams;
  time_not_unix: { field: string };
  start_after_end: NoParams;
  log_type_invalid: NoParams;
  days_out_of_range: { max: number };
}

export const en: Entries<Messages> = {
  log_cursor_invalid: () => "The cursor is not one this log gave out for this filter.",
  time_not_unix: (p) => `${p.field} must be a time in unix seconds.`,
  start_after_end: () => "start must not be after end.",
  log_type_invalid: () => "type must be consume or topup (or one-api's 2 or 1).",
  days_out_of_range: (p) => `days must be a whole number from 1 to ${p.max}.`,
};

export const zh: Entries<Messages> = {
  log_cursor_invalid: () => "该游标不是此日志为这个筛选条件给出的。",
  time_not_unix: (p, f) => `${f.field(p.field)}必须是 Unix 秒表示的时间。`,
  start_after_end: () => "开始时间不能晚于结束时间。",
  log_type_invalid: () => "类型必须是 consume（消费）或 topup（充值）（或 one-api 的 2 或 1）。",
  days_out_of_range: (p, f) => `天数必须是 1 到 ${f.number(p.max)} 之间的整数。`,
};

export const samples: Samples<Messages> = {
  log_cursor_invalid: {},
  time_not_unix: { field: "start_timestamp" },
  start_after_end: {},
  log_type_invalid: {},
  days_out_of_range: { max: 366 },
};
