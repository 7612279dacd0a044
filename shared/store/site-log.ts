import { deflateRawSync, inflateRawSync } from "node:zlib";
import { type Clock, systemClock } from "../clock";
import { siteLogPartition, TTL } from "./keys";
import type { StreamedLine } from "./rollups";
import { ConditionFailed, type Item, type Table } from "./table";
import { InvalidCursor, type LogFilter, matches, type UsageLogEntry, utcDate } from "./usage";

/** At most this many lines in one digest item (compressed, well under DynamoDB's 400 KB). */
const DIGEST_LINES = 400;

/** Tests read a day's digests by it. */
export { siteLogPartition };

/**
 * Where a reading stopped: the day, the digest item, and how many of its lines were read,
 * or `done` when all of them were.
 */
interface Position {
  date: string;
  sk?: string;
  taken: number;
  done?: boolean;
}

/**
 * Every user's usage log in one place, for the operator: the rollup consumer writes each
 * stream batch's lines as compressed digest items, one per UTC day of the lines' times
 * (`LOG#<date>`, sorted by stream sequence), so the whole site's log costs a few write units
 * per batch rather than an index entry per call. The stream delivers at least once: a digest
 * is written only if absent, and a batch that comes again with more lines writes only the
 * lines past the stored digest's last one.
 *
 * Readers walk the days newest first and the digests newest first, filtering as they go,
 * with a budget of digests read per answer; the cursor continues where they stopped.
 */
export class SiteLog {
  constructor(
    private readonly table: Table,
    private readonly retentionDays: number,
    private readonly clock: Clock = systemClock,
  ) {}

  async add(lines: readonly StreamedLine[]): Promise<void> {
    const days = new Map<string, StreamedLine[]>();
    for (const streamed of lines) {
      const date = utcDate(streamed.line.time);
      const day = days.get(date) ?? [];
      day.push(streamed);
      days.set(date, day);
    }
    const chunks = [...days].flatMap(([date, dayLines]) =>
      chunked(dayLines, DIGEST_LINES).map((chunk) => ({ date, chunk })),
    );
    await Promise.all(chunks.map(({ date, chunk }) => this.write(date, chunk)));
  }

  private async write(date: string, lines: StreamedLine[]): Promise<void> {
    while (lines.length > 0) {
      const sk = sequenceKey(lines[0]?.sequence ?? "");
      const last = sequenceKey(lines.at(-1)?.sequence ?? "");
      try {
        await this.table.put(
          {
            pk: siteLogPartition(date),
            sk,
            last,
            count: lines.length,
            lines: pack(lines.map(({ line }) => line)),
            ttl: TTL.siteLogDay(date, this.retentionDays),
          },
          { condition: "attribute_not_exists(pk)", explainFailure: true },
        );
        return;
      } catch (err) {
        if (!(err instanceof ConditionFailed) || !err.item) throw err;
        const stored = String(err.item.last ?? sk);
        lines = lines.filter((line) => sequenceKey(line.sequence) > stored);
      }
    }
  }

  /**
   * Lines matching `filter`, newest first: up to `limit`, reading at most `budget` digest
   * items. `next` is where to go on, absent when every day in the range has been read.
   */
  async list(
    filter: LogFilter,
    limit: number,
    cursor?: string,
    budget = 40,
  ): Promise<{ entries: UsageLogEntry[]; next?: string }> {
    const entries: UsageLogEntry[] = [];
    const next = await this.walk(filter, cursor, budget, (line) => {
      if (entries.length >= limit) return false;
      entries.push(line);
      return true;
    });
    return { entries, next };
  }

  /** Visits matching lines, newest first, until `visit` says stop or the budget is spent. */
  async walk(
    filter: LogFilter,
    cursor: string | undefined,
    budget: number,
    visit: (line: UsageLogEntry) => boolean,
  ): Promise<string | undefined> {
    const firstDate = utcDate(filter.start ?? this.clock.now() - this.retentionDays * 86_400_000);
    let at: Position = cursor
      ? decodeCursor(cursor)
      : { date: utcDate(filter.end ?? this.clock.now()), taken: 0 };
    while (at.date >= firstDate) {
      if (budget <= 0) return encodeCursor(at);
      const { items } = await this.table.query<Item & { sk: string; lines: string }>({
        // A cursor within a digest reads that digest again, from its first unread line.
        keyCondition: at.sk ? `pk = :pk AND sk ${at.done ? "<" : "<="} :sk` : "pk = :pk",
        values: { ":pk": siteLogPartition(at.date), ...(at.sk ? { ":sk": at.sk } : {}) },
        ascending: false,
        limit: Math.min(budget, 8),
      });
      for (const digest of items) {
        budget--;
        const lines = unpack(digest.lines).reverse();
        const position: Position = { date: at.date, sk: digest.sk, taken: 0 };
        if (digest.sk === at.sk && !at.done) position.taken = at.taken;
        for (; position.taken < lines.length; position.taken++) {
          const line = lines[position.taken] as UsageLogEntry;
          if (matches(line, filter) && !visit(line)) return encodeCursor(position);
        }
        at = { date: at.date, sk: digest.sk, taken: 0, done: true };
      }
      if (items.length === 0) at = { date: previousDate(at.date), taken: 0 };
    }
    return undefined;
  }
}

function chunked<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

function pack(lines: UsageLogEntry[]): string {
  return deflateRawSync(JSON.stringify(lines)).toString("base64");
}

function unpack(packed: string): UsageLogEntry[] {
  return JSON.parse(inflateRawSync(Buffer.from(packed, "base64")).toString());
}

/** Stream sequence numbers are decimal strings of up to 40 digits: sort them padded. */
function sequenceKey(sequence: string): string {
  return sequence.padStart(40, "0");
}

function previousDate(date: string): string {
  return utcDate(Date.parse(date) - 86_400_000);
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

function decodeCursor(cursor: string): Position {
  try {
    if (cursor.length > 2_048) throw new InvalidCursor();
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString());
    if (
      typeof value?.date === "string" &&
      /^\d{4}-\d{2}-\d{2}$/.test(value.date) &&
      (value.sk === undefined || (typeof value.sk === "string" && value.sk.length <= 1_024)) &&
      (value.done === undefined || typeof value.done === "boolean") &&
      Number.isInteger(value.taken) &&
      value.taken >= 0
    ) {
      return value;
    }
  } catch {
    // fall through
  }
  throw new InvalidCursor();
}
