import { ConditionFailed, type Item, type Table } from "./table";

/**
 * One line of a user's usage log: a relayed call, or a top-up. Every charge is written here
 * exactly once, before the account moves (the line is the settlement's record: see
 * billing/ledger.ts), so the lines sum to the account's used quota; the daily rollups and
 * the keys' used quota are added up from these lines (billing/rollup.ts).
 */
export interface UsageLogEntry {
  type: "consume" | "topup";
  /** The line's identity in the user's log: the hold's id, or the top-up's reference id. */
  id: string;
  /** Unix milliseconds: when the call began (its hold was taken), or the top-up landed. */
  time: number;
  userId: string;
  requestId: string;
  keyId?: string;
  keyName?: string;
  /** The key had a limit of its own when the call was made (its allowance moved with the hold). */
  keyLimited?: boolean;
  model?: string;
  endpoint?: string;
  promptTokens: number;
  completionTokens: number;
  /** Quota units charged (or added, for a top-up). */
  quota: number;
  /** 1 when the call counts as a request (billed), 0 when it failed or never settled. */
  requests: 0 | 1;
  /** Units held for the call. */
  held?: number;
  /** What the upstream reported beyond the hold, which the hold capped (not charged). */
  shortfall?: number;
  latencyMs?: number;
  /** HTTP status the client got. */
  status?: number;
  /**
   * How the call ended: completed, interrupted (upstream broke off), client_closed, failed,
   * or unsettled (it never settled — its process stopped — and the janitor released its hold).
   */
  outcome?: string;
  stream?: boolean;
  channelId?: string;
  batchId?: string;
  /** Top-ups: the bucket, who made it, and the caller's reference. */
  bucket?: string;
  by?: string;
  reference?: string;
}

export const logPartition = (userId: string) => `USER#${userId}#LOG`;

/** A line's key: its time, then its id, so the log reads in time order. */
export function logKey(userId: string, time: number, id: string) {
  return { pk: logPartition(userId), sk: `${new Date(time).toISOString()}#${id}` };
}

export function utcDate(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

export class UsageLog {
  constructor(
    private readonly table: Table,
    private readonly retentionDays: number,
  ) {}

  /**
   * Writes a line once: a second write of the same line (a retry after a lost answer, the
   * janitor after a settlement that stopped half-way) leaves the first. Returns the line as
   * stored, which is the earlier one when there was one.
   */
  async put(entry: UsageLogEntry): Promise<UsageLogEntry> {
    try {
      const { pk, sk } = logKey(entry.userId, entry.time, entry.id);
      // Keys written out, not spread in: V8 builds `{...a, ...b}` of this size ten times slower.
      await this.table.put(
        { pk, sk, ttl: Math.floor(entry.time / 1000) + this.retentionDays * 86_400, ...entry },
        { condition: "attribute_not_exists(pk)", explainFailure: true },
      );
      return entry;
    } catch (err) {
      if (!(err instanceof ConditionFailed) || !err.item) throw err;
      return toEntry(err.item);
    }
  }

  /** One line, read consistently. */
  async get(userId: string, time: number, id: string): Promise<UsageLogEntry | undefined> {
    const item = await this.table.get(logKey(userId, time, id), true);
    return item && toEntry(item);
  }

  /** Newest first; `cursor` is the `next` of the previous page, absent on the last page. */
  async list(
    userId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ entries: UsageLogEntry[]; next?: string }> {
    // One more than asked tells whether another page exists (DynamoDB's own LastEvaluatedKey
    // is also set when a page ends exactly at the last item).
    const page = await this.table.query<Item & { sk: string }>({
      keyCondition: "pk = :pk",
      values: { ":pk": logPartition(userId) },
      ascending: false,
      limit: limit + 1,
      startKey: cursor ? { pk: logPartition(userId), sk: decodeCursor(cursor) } : undefined,
    });
    const items = page.items.slice(0, limit);
    const last = items.at(-1);
    return {
      entries: items.map(toEntry),
      next: page.items.length > limit && last ? encodeCursor(last.sk) : undefined,
    };
  }
}

function toEntry(item: Item): UsageLogEntry {
  const { pk: _pk, sk: _sk, ttl: _ttl, ...entry } = item;
  return entry as unknown as UsageLogEntry;
}

function encodeCursor(sk: string): string {
  return Buffer.from(sk).toString("base64url");
}

function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, "base64url").toString();
}
