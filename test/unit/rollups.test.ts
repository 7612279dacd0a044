import type { DynamoDBStreamEvent } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Rollups } from "../../shared/store/rollups";
import { ConditionFailed, type Table } from "../../shared/store/table";
import type { UsageLogEntry } from "../../shared/store/usage";
import { capturedLog } from "../fixtures/logs";

const line = (quota: number): UsageLogEntry => ({
  type: "consume",
  id: `h${quota}`,
  time: Date.UTC(2026, 0, 1),
  userId: "u1",
  requestId: `req_${quota}`,
  model: "m",
  promptTokens: 1,
  completionTokens: 1,
  quota,
  requests: 1,
});

afterEach(() => {
  vi.unstubAllEnvs();
});

/** The warnings a test's Logger took. */
function warnings() {
  const { log, lines } = capturedLog();
  return { log, logged: () => lines.filter((line) => line.level === "WARN") };
}

describe("usage rollups", () => {
  it("warn, with counts, of the lines they drop after three conditional conflicts", async () => {
    const { log, logged } = warnings();
    // Every write meets a counter that a writer racing it has moved on, but not past these.
    let writes = 0;
    const table = {
      update: async () => {
        writes++;
        throw new ConditionFailed([], { ss: "0" });
      },
    } as unknown as Table;
    await new Rollups(table, log).apply([
      { sequence: "10", line: line(5) },
      { sequence: "11", line: line(7) },
    ]);
    expect(writes).toBe(3);
    expect(logged()).toEqual([
      expect.objectContaining({
        message: "usage lines dropped from a rollup after conditional conflicts",
        item: "USER#u1#DAY|2026-01-01#m",
        dropped: 2,
        quota: 12,
      }),
    ]);
  });

  it("warn of nothing when the lines were counted already", async () => {
    const { log, logged } = warnings();
    const table = {
      update: async () => {
        throw new ConditionFailed([], { ss: "11".padStart(40, "0") });
      },
    } as unknown as Table;
    await new Rollups(table, log).apply([{ sequence: "11", line: line(5) }]);
    expect(logged()).toEqual([]);
  });

  it("warn, with a count, of stream records that are not new usage log lines", async () => {
    vi.stubEnv("SLUICE_TABLE", "sluice");
    const { streamedLines } = await import("../../functions/usage-rollup/handler");
    const { log, logged } = warnings();
    const record = (eventName: "INSERT" | "MODIFY", pk: string, sequence?: string) => ({
      eventName,
      dynamodb: { NewImage: { pk: { S: pk }, type: { S: "consume" } }, SequenceNumber: sequence },
    });
    const event = {
      Records: [
        record("INSERT", "USER#u1#LOG", "1"),
        record("MODIFY", "USER#u1#LOG", "2"),
        record("INSERT", "USER#u1", "3"),
        record("INSERT", "USER#u1#LOG"),
      ],
    } as unknown as DynamoDBStreamEvent;
    expect(streamedLines(event, log)).toHaveLength(1);
    expect(logged()).toEqual([expect.objectContaining({ unusable: 3, records: 4 })]);
  });
});
