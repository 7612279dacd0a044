import { beforeAll, describe, expect, it } from "vitest";
import type { StreamedLine } from "../../shared/store/rollups";
import { SiteLog, siteLogPartition } from "../../shared/store/site-log";
import { Table } from "../../shared/store/table";
import type { UsageLogEntry } from "../../shared/store/usage";
import { MemoryDynamo } from "../fixtures/memory-dynamo/memory-dynamo";

const DAY = Date.UTC(2026, 0, 10);
let table: Table;
let log: SiteLog;
let sequence = 1_000;

/** Lines as the stream brings them: in sequence order, one second apart from `start`. */
function streamed(count: number, start: number, user = "user_a"): StreamedLine[] {
  return Array.from({ length: count }, (_, i) => {
    const line: UsageLogEntry = {
      type: i % 5 === 4 ? "topup" : "consume",
      id: `h${sequence}`,
      time: start + i * 1000,
      userId: i % 2 === 0 ? user : `${user}-other`,
      requestId: `req_${sequence}`,
      model: i % 3 === 0 ? "gpt-4o" : "gpt-4o-mini",
      channelId: i % 2 === 0 ? "ch_1" : "ch_2",
      promptTokens: 10,
      completionTokens: 5,
      quota: 100 + i,
      requests: 1,
    };
    return { sequence: String(sequence++), line };
  });
}

async function readAll(filter: Parameters<SiteLog["list"]>[0], limit: number, budget = 40) {
  const lines: UsageLogEntry[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await log.list(filter, limit, cursor, budget);
    lines.push(...page.entries);
    cursor = page.next;
    pages++;
  } while (cursor && pages < 1_000);
  return { lines, pages };
}

beforeAll(() => {
  // A table of its own, in memory (held to DynamoDB Local's answers by
  // fixtures/dynamo-contract.ts): these lines are from 2026-01, with exact expectations.
  table = new Table(new MemoryDynamo(), "sluice");
  log = new SiteLog(table, 90);
});

describe("the site-wide log", () => {
  it("keeps every line once when the stream delivers a batch again, with more lines", async () => {
    const first = streamed(30, DAY);
    const second = streamed(20, DAY + 60_000);
    await log.add(first);
    await log.add(second);
    // The first batch again, grown by lines that had arrived since (a redelivery).
    const grown = [...first, ...streamed(10, DAY + 120_000)];
    await log.add(grown);
    await log.add(second);

    const { lines } = await readAll({ start: DAY, end: DAY + 86_399_999 }, 1_000);
    expect(lines).toHaveLength(60);
    expect(new Set(lines.map((line) => line.id)).size).toBe(60);
    // Newest first: by stream order, which is the order the lines were written.
    const order = lines.map((line) => Number(line.id.slice(1)));
    expect(order).toEqual([...order].sort((a, b) => b - a));
  });

  it("pages with a cursor through digests and days, without gaps or repeats", async () => {
    const start = DAY + 2 * 86_400_000 - 15_000;
    // 900 lines over midnight: more than one digest per day, two days.
    const lines = streamed(900, start, "user_pages");
    await log.add(lines);
    const items = await table.queryAll({
      keyCondition: "pk = :pk",
      values: { ":pk": siteLogPartition("2026-01-12") },
    });
    expect(items.length).toBeGreaterThanOrEqual(2);

    const range = { start, end: start + 900_000 };
    const whole = await readAll(range, 1_000);
    expect(whole.lines.map((line) => line.id)).toHaveLength(900);
    for (const size of [7, 400]) {
      const paged = await readAll(range, size);
      expect(paged.lines.map((line) => line.id)).toEqual(whole.lines.map((line) => line.id));
    }
    // One line a page, across midnight.
    const midnight = { start: DAY + 2 * 86_400_000 - 10_000, end: DAY + 2 * 86_400_000 + 9_999 };
    const single = await readAll(midnight, 1);
    expect(single.lines.map((line) => line.time)).toEqual(
      Array.from({ length: 20 }, (_, i) => midnight.end - 999 - i * 1000),
    );
  });

  it("filters by user, channel, model and type, and a small budget only splits the pages", async () => {
    const start = DAY + 5 * 86_400_000;
    await log.add(streamed(50, start, "user_f"));
    await log.add(streamed(50, start + 100_000, "user_f"));
    const range = { start, end: start + 86_399_999 };
    const mine = await readAll({ ...range, userId: "user_f" }, 1_000);
    expect(mine.lines).toHaveLength(50);
    expect(mine.lines.every((line) => line.userId === "user_f")).toBe(true);
    const narrow = await readAll(
      { ...range, userId: "user_f", model: "gpt-4o", type: "consume" },
      5,
      1,
    );
    const expected = mine.lines.filter(
      (line) => line.model === "gpt-4o" && line.type === "consume",
    );
    expect(narrow.lines).toEqual(expected);
    expect(narrow.pages).toBeGreaterThan(1);
    const channel = await readAll({ ...range, channelId: "ch_2" }, 1_000);
    expect(channel.lines).toHaveLength(50);
    expect(await readAll({ ...range, userId: "nobody" }, 10)).toMatchObject({ lines: [] });
  });

  it("refuses a cursor it did not give out", async () => {
    for (const cursor of ["nonsense", Buffer.from('{"date":"x"}').toString("base64url")]) {
      await expect(log.list({}, 10, cursor)).rejects.toThrow(/cursor/);
    }
  });
});
