import type { Table } from "./table";

/** One line of a user's usage log: a relayed call, or a top-up. */
export interface UsageLogEntry {
  type: "consume" | "topup";
  /** Unix milliseconds. */
  time: number;
  requestId: string;
  keyId?: string;
  keyName?: string;
  model?: string;
  endpoint?: string;
  promptTokens: number;
  completionTokens: number;
  /** Quota units charged (or added, for a top-up). */
  quota: number;
  latencyMs?: number;
  /** HTTP status the client got. */
  status?: number;
  /** How the call ended: completed, interrupted (upstream broke off), client_closed, failed. */
  outcome?: string;
  stream?: boolean;
  channelId?: string;
  batchId?: string;
  /** Top-ups: the bucket and who made it. */
  bucket?: string;
  by?: string;
}

/** Per user, per UTC day, per model: counters moved by ADD, so dashboards never scan logs. */
export interface DailyUsage {
  date: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  quota: number;
}

export const logPartition = (userId: string) => `USER#${userId}#LOG`;
export const dailyPartition = (userId: string) => `USER#${userId}#DAY`;

export function logItem(userId: string, entry: UsageLogEntry, retentionDays: number) {
  return {
    pk: logPartition(userId),
    sk: `${new Date(entry.time).toISOString()}#${entry.requestId}`,
    ttl: Math.floor(entry.time / 1000) + retentionDays * 86_400,
    ...entry,
  };
}

export function dailyKey(userId: string, time: number, model: string) {
  return { pk: dailyPartition(userId), sk: `${utcDate(time)}#${model}` };
}

export function utcDate(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

export class UsageLog {
  constructor(
    private readonly table: Table,
    private readonly retentionDays: number,
  ) {}

  /** Adds a line outside of settlement (top-ups). */
  async record(userId: string, entry: UsageLogEntry): Promise<void> {
    await this.table.put(logItem(userId, entry, this.retentionDays));
  }

  /** Newest first; `cursor` is the `next` of the previous page, absent on the last page. */
  async list(
    userId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ entries: UsageLogEntry[]; next?: string }> {
    // One more than asked tells whether another page exists (DynamoDB's own LastEvaluatedKey
    // is also set when a page ends exactly at the last item).
    const page = await this.table.query<UsageLogEntry & { pk: string; sk: string; ttl: number }>({
      keyCondition: "pk = :pk",
      values: { ":pk": logPartition(userId) },
      ascending: false,
      limit: limit + 1,
      startKey: cursor ? { pk: logPartition(userId), sk: decodeCursor(cursor) } : undefined,
    });
    const items = page.items.slice(0, limit);
    const last = items.at(-1);
    return {
      entries: items.map(({ pk: _pk, sk: _sk, ttl: _ttl, ...entry }) => entry),
      next: page.items.length > limit && last ? encodeCursor(last.sk) : undefined,
    };
  }

  /** Daily rollups from `fromDate` (YYYY-MM-DD) on. */
  async daily(userId: string, fromDate: string): Promise<DailyUsage[]> {
    const items = await this.table.queryAll<DailyUsage & { pk: string; sk: string }>({
      keyCondition: "pk = :pk AND sk >= :from",
      values: { ":pk": dailyPartition(userId), ":from": fromDate },
    });
    return items.map(({ pk: _pk, sk, ...counters }) => {
      const [date = "", ...model] = sk.split("#");
      return {
        date,
        model: model.join("#"),
        requests: counters.requests ?? 0,
        promptTokens: counters.promptTokens ?? 0,
        completionTokens: counters.completionTokens ?? 0,
        quota: counters.quota ?? 0,
      };
    });
  }
}

function encodeCursor(sk: string): string {
  return Buffer.from(sk).toString("base64url");
}

function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, "base64url").toString();
}
