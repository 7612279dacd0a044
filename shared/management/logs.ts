import { unitsToDollars } from "../billing/units";
import { userRoute } from "../http/route";
import { utcDate } from "../store/usage";
import { invalid, ok, pageSize } from "./envelope";

/** GET /api/log/self: the caller's usage log, newest first; `cursor` pages on. */
export const listOwnLogs = userRoute("GET", "/api/log/self", async (call) => {
  const { query } = call.request;
  const { entries, next } = await call.services.usage.list(
    call.principal.user.id,
    pageSize(query, 50, 200),
    query.get("cursor") ?? undefined,
  );
  return ok(
    entries.map((entry) => ({
      type: entry.type,
      created_at: Math.floor(entry.time / 1000),
      request_id: entry.requestId,
      user_id: entry.userId,
      key_name: entry.keyName ?? null,
      model: entry.model ?? null,
      endpoint: entry.endpoint ?? null,
      prompt_tokens: entry.promptTokens,
      completion_tokens: entry.completionTokens,
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
      reference: entry.reference ?? null,
      bucket: entry.bucket ?? null,
    })),
    { next_cursor: next ?? null },
  );
});

/** GET /api/usage/self?days=N: per-day, per-model totals from the rollups (no log scan). */
export const getOwnUsage = userRoute("GET", "/api/usage/self", async (call) => {
  const days = Number.parseInt(call.request.query.get("days") ?? "7", 10);
  if (!Number.isInteger(days) || days < 1 || days > 366)
    throw invalid("days must be a whole number from 1 to 366.");
  const from = utcDate(Date.now() - (days - 1) * 86_400_000);
  const rows = await call.services.rollups.daily(call.principal.user.id, from);
  return ok(
    rows.map((row) => ({
      date: row.date,
      model: row.model,
      requests: row.requests,
      prompt_tokens: row.promptTokens,
      completion_tokens: row.completionTokens,
      quota: row.quota,
      quota_dollar: unitsToDollars(row.quota),
    })),
  );
});
