import type { UserPrincipal } from "../auth/authenticate";
import { topUpSource } from "../billing/top-up-source";
import { unitsToDollars } from "../billing/units";
import { type Call, userRoute } from "../http/route";
import { msg } from "../messages/codes";
import {
  InvalidCursor,
  LOGGED_COUNTS,
  type LogFilter,
  type LoggedCount,
  type LoggedUsage,
  type UsageLogEntry,
  utcDate,
} from "../store/usage";
import { invalid, ok, pageSize, requireAdmin } from "./envelope";
import { snakeCase } from "./views";

/** Most pages of a user's log, or digests of the site's, one answer reads. */
const LIST_BUDGET = { user: 10, site: 40 };
/** Totals read further: each page or digest holds hundreds of lines. */
const STAT_BUDGET = { user: 200, site: 1_000 };

/**
 * GET /api/log/self: the caller's usage log, newest first, filtered by key name, model, type
 * and time (`start`/`end`, unix seconds; one-api's `token_name`, `model_name`,
 * `start_timestamp`, `end_timestamp` too); `cursor` pages on.
 */
export const listOwnLogs = userRoute("GET", "/api/log/self", async (call) => {
  const filter = { ...logFilter(call.request.query), userId: call.principal.user.id };
  return listLogs(call, filter);
});

/** GET /api/log/self/stat: totals of the caller's lines matching the same filters. */
export const getOwnLogStat = userRoute("GET", "/api/log/self/stat", async (call) => {
  const filter = { ...logFilter(call.request.query), userId: call.principal.user.id };
  return logStat(call, filter);
});

/**
 * GET /api/log/ (admins): every user's usage, filtered as above and by user (`user_id` or
 * `username`) and channel. Without a user it reads the site-wide log, which the
 * rollups write from the usage log's stream, seconds behind it.
 */
export const listAllLogs = userRoute("GET", "/api/log", async (call) => {
  requireAdmin(call);
  return listLogs(call, await adminFilter(call));
});

/** GET /api/log/stat (admins): totals of the lines matching the same filters. */
export const getAllLogStat = userRoute("GET", "/api/log/stat", async (call) => {
  requireAdmin(call);
  return logStat(call, await adminFilter(call));
});

async function listLogs(call: Call<UserPrincipal>, filter: LogFilter) {
  const { services } = call;
  const limit = pageSize(call.request.query, 50, 200);
  const cursor = call.request.query.get("cursor") ?? undefined;
  const { entries, next } = await readCursor(() =>
    filter.userId === undefined
      ? services.siteLog.list(filter, limit, cursor, LIST_BUDGET.site)
      : services.usage.list(filter.userId, limit, cursor, filter, LIST_BUDGET.user),
  );
  const names = await call.services.users.names(entries.map((entry) => entry.userId));
  // Channels are the admin's: a customer's own log does not name them.
  const channels = call.principal.user.role === "admin" ? await channelNames(call, entries) : null;
  return ok(
    entries.map((entry) => ({
      ...lineView(entry, names.get(entry.userId)),
      ...(channels && { channel_name: channels.get(entry.channelId ?? "") ?? null }),
    })),
    { next_cursor: next ?? null },
  );
}

async function logStat(call: Call<UserPrincipal>, filter: LogFilter) {
  const totals = { quota: 0, requests: 0, prompt_tokens: 0, completion_tokens: 0, lines: 0 };
  const kinds: Partial<Record<LoggedCount, number>> = {};
  const add = (line: UsageLogEntry) => {
    totals.lines++;
    if (line.type !== "consume") return true;
    totals.quota += line.quota;
    totals.requests += line.requests;
    totals.prompt_tokens += line.promptTokens;
    totals.completion_tokens += line.completionTokens;
    for (const kind of LOGGED_COUNTS) if (line[kind]) kinds[kind] = (kinds[kind] ?? 0) + line[kind];
    return true;
  };
  const { services } = call;
  const next = await readCursor(() =>
    filter.userId === undefined
      ? services.siteLog.walk(filter, undefined, STAT_BUDGET.site, add)
      : services.usage.walk(filter.userId, filter, undefined, STAT_BUDGET.user, add),
  );
  // Past the budget the totals are of the newest lines only; `complete` says so.
  return ok({
    ...totals,
    ...usageView(kinds),
    quota_dollar: unitsToDollars(totals.quota),
    complete: next === undefined,
  });
}

async function readCursor<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    // RangeError: a cursor whose time is past what a Date holds.
    if (err instanceof InvalidCursor || err instanceof RangeError)
      throw invalid(msg("log_cursor_invalid"));
    throw err;
  }
}

function logFilter(query: URLSearchParams): LogFilter {
  const text = (...names: string[]) => {
    for (const name of names) {
      const value = query.get(name)?.trim();
      if (value) return value;
    }
    return undefined;
  };
  const seconds = (...names: string[]) => {
    const value = text(...names);
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0 || number > 32_503_680_000) {
      throw invalid(msg("time_not_unix", { field: names[0] as string }));
    }
    return number * 1000;
  };
  const filter: LogFilter = {
    keyName: text("key_name", "token_name"),
    model: text("model", "model_name"),
    type: logType(query.get("type")),
    start: seconds("start", "start_timestamp"),
    // The end second is in the range.
    end: ((end) => (end === undefined ? undefined : end + 999))(seconds("end", "end_timestamp")),
  };
  if (filter.start !== undefined && filter.end !== undefined && filter.start > filter.end) {
    throw invalid(msg("start_after_end"));
  }
  return filter;
}

/** An admin's filter: the common one, and user and channel. */
async function adminFilter(call: Call<UserPrincipal>): Promise<LogFilter> {
  const { query } = call.request;
  const filter: LogFilter = {
    ...logFilter(query),
    channelId: query.get("channel")?.trim() || query.get("channel_id")?.trim() || undefined,
  };
  const userId = query.get("user_id")?.trim();
  const username = query.get("username")?.trim();
  if (userId) filter.userId = userId;
  else if (username) {
    // An unknown name matches nothing, the way a filter does, rather than everything.
    filter.userId =
      (await call.services.users.findByUsername(username))?.id ?? `unknown:${username}`;
  }
  return filter;
}

/** `consume` or `topup`, or one-api's numbers for them (1 top-up, 2 consumption). */
function logType(value: string | null): LogFilter["type"] {
  switch (value?.trim() ?? "") {
    case "":
    case "0":
      return undefined;
    case "consume":
    case "2":
      return "consume";
    case "topup":
    case "1":
      return "topup";
    default:
      throw invalid(msg("log_type_invalid"));
  }
}

/**
 * The names of the page's channels: one read of the channel list (a few items, keys left
 * sealed), only when the page has calls; a deleted channel has none (the console shows its id).
 */
async function channelNames(call: Call<UserPrincipal>, entries: UsageLogEntry[]) {
  if (!entries.some((entry) => entry.channelId)) return new Map<string, string>();
  return call.services.channels.names();
}

function lineView(entry: UsageLogEntry, username: string | null | undefined) {
  return {
    type: entry.type,
    created_at: Math.floor(entry.time / 1000),
    request_id: entry.requestId,
    user_id: entry.userId,
    username: username ?? null,
    key_name: entry.keyName ?? null,
    model: entry.model ?? null,
    endpoint: entry.endpoint ?? null,
    prompt_tokens: entry.promptTokens,
    completion_tokens: entry.completionTokens,
    ...usageView(entry),
    quota: entry.quota,
    quota_dollar: unitsToDollars(entry.quota),
    held: entry.held ?? null,
    shortfall: entry.shortfall ?? null,
    latency_ms: entry.latencyMs ?? null,
    status: entry.status ?? null,
    outcome: entry.outcome ?? null,
    stream: entry.stream ?? false,
    channel_id: entry.channelId ?? null,
    batch_id: entry.batchId ?? null,
    // Internal (the ledger's once-guard): the console shows `source` to customers.
    reference: entry.reference ?? null,
    source: entry.type === "topup" ? topUpSource(entry.reference) : null,
    bucket: entry.bucket ?? null,
    // Refused lines: how many calls the key had refused in the minute, and why.
    ...(entry.type === "refused" && { count: entry.count ?? 0, reason: entry.reason ?? null }),
  };
}

/**
 * The kinds of usage a line (or a day, or a total) has, in snake_case, only those it has:
 * `cached_input_tokens`, `reasoning_tokens`, …, `seconds`, `characters`, `image_count`,
 * `image_size`, `image_quality`, and `costs` per kind (units, to 6 decimals; display only).
 */
function usageView(usage: LoggedUsage) {
  const view: Record<string, unknown> = {};
  for (const kind of LOGGED_COUNTS) if (usage[kind]) view[snakeCase(kind)] = usage[kind];
  if (usage.imageSize) view.image_size = usage.imageSize;
  if (usage.imageQuality) view.image_quality = usage.imageQuality;
  if (usage.costs) {
    view.costs = Object.fromEntries(
      Object.entries(usage.costs).map(([kind, units]) => [snakeCase(kind), units]),
    );
  }
  return view;
}

/** GET /api/usage/self?days=N: per-day, per-model totals from the rollups (no log scan). */
export const getOwnUsage = userRoute("GET", "/api/usage/self", async (call) => {
  const days = Number.parseInt(call.request.query.get("days") ?? "7", 10);
  if (!Number.isInteger(days) || days < 1 || days > 366)
    throw invalid(msg("days_out_of_range", { max: 366 }));
  const from = utcDate(call.services.clock.now() - (days - 1) * 86_400_000);
  const rows = await call.services.rollups.daily(call.principal.user.id, from);
  return ok(
    rows.map((row) => ({
      date: row.date,
      model: row.model,
      requests: row.requests,
      prompt_tokens: row.promptTokens,
      completion_tokens: row.completionTokens,
      ...usageView(row),
      quota: row.quota,
      quota_dollar: unitsToDollars(row.quota),
    })),
  );
});
