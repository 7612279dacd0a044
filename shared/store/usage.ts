import { logKey, logPartition, TTL } from "./keys";
import { ConditionFailed, type Item, type Table } from "./table";

/**
 * What a call consumed besides its token sums, each count written only when above 0: the
 * disjoint kinds of tokens (billing/metered.ts, by the same names), calls with a per-call fee,
 * and for calls not priced by tokens the seconds of audio, characters of speech and images.
 */
export const LOGGED_COUNTS = [
  "inputTokens",
  "cachedInputTokens",
  "cacheWriteTokens",
  "cacheWrite1hTokens",
  "audioInputTokens",
  "cachedAudioInputTokens",
  "imageInputTokens",
  "cachedImageInputTokens",
  "outputTokens",
  "reasoningTokens",
  "audioOutputTokens",
  "imageOutputTokens",
  "calls",
  "seconds",
  "characters",
  "imageCount",
] as const;

export type LoggedCount = (typeof LOGGED_COUNTS)[number];

export interface LoggedUsage extends Partial<Record<LoggedCount, number>> {
  imageSize?: string;
  imageQuality?: string;
  /**
   * The cost of each kind (billing/cost.ts's CostKind), in units to 6 decimals, multipliers
   * applied: for display; `quota` is what was charged.
   */
  costs?: Record<string, number>;
}

/**
 * One line of a user's usage log: a relayed call, or a top-up. Every charge is written here
 * exactly once, before the account moves (the line is the settlement's record: see
 * billing/ledger.ts), so the lines sum to the account's used quota; the daily rollups and
 * the keys' used quota are added up from these lines (billing/rollup.ts).
 */
export interface UsageLogEntry extends LoggedUsage {
  /** A call, a top-up, or a key's calls refused within a minute (http/refusal-lines.ts). */
  type: "consume" | "topup" | "refused";
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
  /** Every input token and every output token, whatever their kinds (as OpenAI counts them). */
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
  /** Refused lines: how many calls, and why (http/refusal-lines.ts RefusalReason). */
  count?: number;
  reason?: string;
}

/** Which lines a reader wants; every field is optional. Times are unix milliseconds. */
export interface LogFilter {
  userId?: string;
  keyName?: string;
  model?: string;
  channelId?: string;
  type?: UsageLogEntry["type"];
  start?: number;
  end?: number;
}

export function matches(line: UsageLogEntry, filter: LogFilter): boolean {
  return (
    (filter.userId === undefined || line.userId === filter.userId) &&
    (filter.keyName === undefined || line.keyName === filter.keyName) &&
    (filter.model === undefined || line.model === filter.model) &&
    (filter.channelId === undefined || line.channelId === filter.channelId) &&
    (filter.type === undefined || line.type === filter.type) &&
    (filter.start === undefined || line.time >= filter.start) &&
    (filter.end === undefined || line.time <= filter.end)
  );
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
        { pk, sk, ttl: TTL.usageLine(entry.time, this.retentionDays), ...entry },
        { condition: "attribute_not_exists(pk)", explainFailure: true },
      );
      return entry;
    } catch (err) {
      if (!(err instanceof ConditionFailed) || !err.item) throw err;
      return toEntry(err.item);
    }
  }

  /**
   * Adds `count` refused calls to a refused line (type "refused"), making it when it is not
   * there: one UpdateItem, so a minute's line can take a later count of the same minute.
   */
  async addRefused(line: UsageLogEntry, count: number): Promise<void> {
    const { count: _count, ...fields } = line;
    const values: Record<string, unknown> = {
      ":count": count,
      ":ttl": TTL.usageLine(line.time, this.retentionDays),
    };
    const names: Record<string, string> = { "#count": "count", "#ttl": "ttl" };
    const sets = ["#ttl = if_not_exists(#ttl, :ttl)"];
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = if_not_exists(#${name}, :${name})`);
    }
    await this.table.update(logKey(line.userId, line.time, line.id), {
      update: `SET ${sets.join(", ")} ADD #count :count`,
      names,
      values,
    });
  }

  /** One line, read consistently. */
  async get(userId: string, time: number, id: string): Promise<UsageLogEntry | undefined> {
    const item = await this.table.get(logKey(userId, time, id), true);
    return item && toEntry(item);
  }

  /**
   * One user's lines matching `filter`, newest first: up to `limit`, reading at most `budget`
   * pages of DynamoDB; `next` goes on from there, absent when the range is read.
   */
  async list(
    userId: string,
    limit: number,
    cursor?: string,
    filter: LogFilter = {},
    budget = 10,
  ): Promise<{ entries: UsageLogEntry[]; next?: string }> {
    const entries: UsageLogEntry[] = [];
    const next = await this.walk(userId, filter, cursor, budget, (line) => {
      if (entries.length >= limit) return false;
      entries.push(line);
      return true;
    });
    return { entries, next };
  }

  /**
   * Visits one user's lines matching `filter`, newest first, until `visit` says stop or
   * `budget` pages are read. Returns the cursor to go on from, absent when the range is read.
   */
  async walk(
    userId: string,
    filter: LogFilter,
    cursor: string | undefined,
    budget: number,
    visit: (line: UsageLogEntry) => boolean,
  ): Promise<string | undefined> {
    const pk = logPartition(userId);
    const { expression, names, values } = lineFilter(filter);
    const from = filter.start === undefined ? "0" : new Date(filter.start).toISOString();
    const to = filter.end === undefined ? "~" : `${new Date(filter.end).toISOString()}~`;
    let startKey = cursor ? { pk, sk: decodeCursor(cursor) } : undefined;
    // DynamoDB refuses a start key outside the range: a cursor of another filter.
    if (startKey && (startKey.sk < from || startKey.sk > to)) throw new InvalidCursor();
    for (; budget > 0; budget--) {
      const page = await this.table.query<Item & { sk: string }>({
        keyCondition: "pk = :pk AND sk BETWEEN :from AND :to",
        filter: expression,
        names,
        values: { ":pk": pk, ":from": from, ":to": to, ...values },
        ascending: false,
        limit: 200,
        startKey,
      });
      for (const item of page.items) {
        if (!visit(toEntry(item))) return encodeCursor(previousKey(item.sk));
      }
      if (!page.lastKey) return undefined;
      startKey = { pk, sk: String(page.lastKey.sk) };
    }
    return startKey && encodeCursor(startKey.sk);
  }
}

/** The filter's conditions other than the user and the time (which the key conditions take). */
function lineFilter(filter: LogFilter) {
  const fields = [
    ["keyName", filter.keyName],
    ["model", filter.model],
    ["channelId", filter.channelId],
    ["type", filter.type],
  ].filter((pair): pair is [string, string] => pair[1] !== undefined);
  if (fields.length === 0) return { expression: undefined, names: undefined, values: {} };
  return {
    expression: fields.map(([name]) => `#${name} = :${name}`).join(" AND "),
    names: Object.fromEntries(fields.map(([name]) => [`#${name}`, name])),
    values: Object.fromEntries(fields.map(([name, value]) => [`:${name}`, value])),
  };
}

/**
 * The cursor that reads on from (and including) the line with key `sk`: the exclusive start
 * key just above it, newest first.
 */
function previousKey(sk: string): string {
  return `${sk}\u0000`;
}

function toEntry(item: Item): UsageLogEntry {
  const { pk: _pk, sk: _sk, ttl: _ttl, ...entry } = item;
  return entry as unknown as UsageLogEntry;
}

function encodeCursor(sk: string): string {
  return Buffer.from(sk).toString("base64url");
}

function decodeCursor(cursor: string): string {
  // A sort key is at most 1,024 bytes: a longer cursor is none this log gave out.
  const sk = cursor.length > 1_400 ? "" : Buffer.from(cursor, "base64url").toString();
  if (!/^\d{4}-\d{2}-\d{2}T[\d:.]+Z#/.test(sk)) throw new InvalidCursor();
  return sk;
}

export class InvalidCursor extends Error {
  constructor() {
    super("The cursor is not one this log gave out for this filter.");
  }
}
