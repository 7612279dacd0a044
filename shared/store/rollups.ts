import type { Logger } from "@aws-lambda-powertools/logger";
import { Accounts } from "./accounts";
import { apiKeyKey, dailyKey, dailyPartition } from "./keys";
import { ConditionFailed, type ItemKey, type Table } from "./table";
import { LOGGED_COUNTS, type LoggedCount, type UsageLogEntry, utcDate } from "./usage";

/**
 * Per user, per UTC day, per model: counters added up from the log lines. The kinds of usage
 * (cached tokens, seconds, …) are there when a line of the day had them.
 */
export interface DailyUsage extends Partial<Record<LoggedCount, number>> {
  date: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  quota: number;
}

/** A usage log line as the table's stream delivered it, with the record's sequence number. */
export interface StreamedLine {
  sequence: string;
  line: UsageLogEntry;
}

/**
 * The counters added up from the usage log, off the request path: each day's totals per user
 * and model (the dashboards read these, never the log), and each key's used quota, last use
 * and — for a key without a limit of its own — its remain_quota counting down, as seed 000
 * shows. A call writes only its account and its log line; the table's stream brings the
 * lines here in batches (a Lambda on AWS, a poller locally), and one write per counter per
 * batch adds them up, however many calls the batch holds.
 *
 * The stream delivers at least once: a batch may come again after a failure. Each counter
 * item keeps the sequence number of the last line it added (`ss`), and takes only newer
 * ones, so a batch applied twice counts once. Lines reach one counter from one user's log
 * partition, whose stream records come in order.
 */
export class Rollups {
  constructor(
    private readonly table: Table,
    private readonly log: Logger,
    /** A key's counters are balance attributes: only Accounts writes them. */
    private readonly accounts = new Accounts(table),
  ) {}

  /** Daily rollups from `fromDate` (YYYY-MM-DD) on. */
  async daily(userId: string, fromDate: string): Promise<DailyUsage[]> {
    const items = await this.table.queryAll<DailyUsage & { pk: string; sk: string }>({
      keyCondition: "pk = :pk AND sk >= :from",
      values: { ":pk": dailyPartition(userId), ":from": fromDate },
    });
    return items.map(({ pk: _pk, sk, ...counters }) => {
      const [date = "", ...model] = sk.split("#");
      const day: DailyUsage = {
        date,
        model: model.join("#"),
        requests: counters.requests ?? 0,
        promptTokens: counters.promptTokens ?? 0,
        completionTokens: counters.completionTokens ?? 0,
        quota: counters.quota ?? 0,
      };
      for (const kind of LOGGED_COUNTS) if (counters[kind]) day[kind] = counters[kind];
      return day;
    });
  }

  async apply(lines: readonly StreamedLine[]): Promise<void> {
    const groups = new Map<string, { key: ItemKey; kind: "day" | "key"; lines: StreamedLine[] }>();
    const add = (kind: "day" | "key", key: ItemKey, line: StreamedLine) => {
      const id = `${key.pk}|${key.sk}`;
      const group = groups.get(id) ?? { key, kind, lines: [] };
      group.lines.push(line);
      groups.set(id, group);
    };
    for (const streamed of lines) {
      const { line } = streamed;
      if (line.type !== "consume") continue;
      if (line.model) add("day", dailyKey(line.userId, utcDate(line.time), line.model), streamed);
      // The janitor's lines for calls that never settled name a key only by a prefix.
      if (line.keyId && !line.keyId.endsWith("…")) {
        add("key", apiKeyKey(line.keyId), streamed);
      }
    }
    await Promise.all(
      [...groups.values()].map((group) => this.addUp(group.key, group.kind, sorted(group.lines))),
    );
  }

  /**
   * Adds `lines` (in stream order) to one counter item, skipping those it has counted. Lines
   * still not added after three conditional conflicts are dropped, with a warning.
   */
  private async addUp(key: ItemKey, kind: "day" | "key", lines: StreamedLine[]): Promise<void> {
    for (let attempt = 0; lines.length > 0 && attempt < ROLLUP_ATTEMPTS; attempt++) {
      const first = padSequence(lines[0]?.sequence ?? "");
      const last = padSequence(lines.at(-1)?.sequence ?? "");
      try {
        if (kind === "day") await this.table.update(key, dayWrite(lines, first, last));
        // A key's group holds that key's lines only.
        else await this.accounts.addKeyUsage(keyOf(lines), keyUsage(lines, first, last));
        return;
      } catch (err) {
        if (!(err instanceof ConditionFailed)) throw err;
        // A key deleted since: nothing to count on.
        if (!err.item) return;
        const seen = String(err.item.ss ?? "");
        lines = lines.filter((line) => padSequence(line.sequence) > seen);
      }
    }
    if (lines.length > 0) {
      this.log.warn("usage lines dropped from a rollup after conditional conflicts", {
        item: `${key.pk}|${key.sk}`,
        kind,
        attempts: ROLLUP_ATTEMPTS,
        dropped: lines.length,
        quota: lines.reduce((total, { line }) => total + line.quota, 0),
      });
    }
  }
}

const ROLLUP_ATTEMPTS = 3;

const UNCOUNTED = "attribute_not_exists(ss) OR ss < :first";

function dayWrite(lines: StreamedLine[], first: string, last: string) {
  const sum = (field: "requests" | "promptTokens" | "completionTokens" | "quota" | LoggedCount) =>
    lines.reduce((total, { line }) => total + (line[field] ?? 0), 0);
  // Each kind of usage the lines had is added too; the others are not written at all.
  const kinds = LOGGED_COUNTS.map((kind) => [kind, sum(kind)] as const).filter(([, n]) => n > 0);
  return {
    update: [
      "SET ss = :last ADD requests :requests, promptTokens :prompt, completionTokens :completion, quota :quota",
      ...kinds.map((_, i) => `#k${i} :k${i}`),
    ].join(", "),
    condition: UNCOUNTED,
    names: kinds.length
      ? Object.fromEntries(kinds.map(([kind], i) => [`#k${i}`, kind]))
      : undefined,
    values: {
      ":first": first,
      ":last": last,
      ":requests": sum("requests"),
      ":prompt": sum("promptTokens"),
      ":completion": sum("completionTokens"),
      ":quota": sum("quota"),
      ...Object.fromEntries(kinds.map(([, n], i) => [`:k${i}`, n])),
    },
    explainFailure: true,
  };
}

const keyOf = (lines: StreamedLine[]) => String(lines[0]?.line.keyId);

/** What lines add to their key (Accounts.addKeyUsage writes it). */
function keyUsage(lines: StreamedLine[], first: string, last: string) {
  const used = lines.reduce((total, { line }) => total + line.quota, 0);
  // A limited key's allowance moved with each hold already; an unlimited one counts down here.
  const countdown = lines.reduce(
    (total, { line }) => total + (line.keyLimited ? 0 : line.quota),
    0,
  );
  const accessed = Math.max(
    ...lines.map(({ line }) => Math.floor((line.time + (line.latencyMs ?? 0)) / 1000)),
  );
  return { first, last, used, countdown, accessed };
}

function sorted(lines: StreamedLine[]): StreamedLine[] {
  return [...lines].sort((a, b) => (padSequence(a.sequence) < padSequence(b.sequence) ? -1 : 1));
}

/** Stream sequence numbers are decimal strings of up to 40 digits: compare them padded. */
function padSequence(sequence: string): string {
  return sequence.padStart(40, "0");
}
