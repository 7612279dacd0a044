import { describe, expect, it } from "vitest";
import { MOVES } from "../../shared/batches/lifecycle";
import { clockOf } from "../../shared/clock";
import { RateLimited } from "../../shared/errors";
import { statusOf, toApiError } from "../../shared/http/error-mapping";
import { Batches, type BatchStatus, FINAL_STATUSES } from "../../shared/store/batches";
import type { DynamoTransport } from "../../shared/store/dynamo-transport";
import { TTL } from "../../shared/store/keys";
import { Sessions } from "../../shared/store/sessions";
import { setFields, Table, unmarshalItem } from "../../shared/store/table";
import { Uploads } from "../../shared/store/uploads";

/** A table whose writes the test reads back: every request as sent, each answered with nothing. */
function recordingTable(answer: Record<string, unknown> = {}) {
  const sent: { operation: string; input: Record<string, unknown> }[] = [];
  const transport: DynamoTransport = {
    send: async (operation, input) => {
      sent.push({ operation, input });
      return answer;
    },
  };
  return { table: new Table(transport, "t"), sent };
}

const values = (input: Record<string, unknown>) =>
  unmarshalItem(input.ExpressionAttributeValues as never);

/** What an update sets with setFields' placeholders: attribute name → value. */
function fieldsSet(input: Record<string, unknown>): Record<string, unknown> {
  const names = Object.entries(input.ExpressionAttributeNames as Record<string, string>);
  return Object.fromEntries(
    names
      .filter(([placeholder]) => placeholder.startsWith("#f"))
      .map(([placeholder, name]) => [name, values(input)[placeholder.replace("#f", ":v")]]),
  );
}

describe("the field-update builder", () => {
  it("sets defined fields under placeholders, leaves undefined ones, and removes nulls when asked", () => {
    const fields = { status: "enabled", name: undefined, models: null, group: "vip" };
    expect(setFields(fields)).toEqual({
      assignments: ["#f0 = :v0", "#f2 = :v2", "#f3 = :v3"],
      removals: [],
      names: { "#f0": "status", "#f2": "models", "#f3": "group" },
      values: { ":v0": "enabled", ":v2": null, ":v3": "vip" },
    });
    expect(setFields(fields, { removeNull: true })).toMatchObject({
      assignments: ["#f0 = :v0", "#f3 = :v3"],
      removals: ["#f2"],
    });
  });
});

describe("a batch's moves", () => {
  it("are taken only from the statuses the table lists, and set the status they lead to", async () => {
    const { table, sent } = recordingTable();
    await new Batches(table).transition("b1", MOVES.start, { inProgressAt: 5 });
    const input = (sent[0] as { input: Record<string, unknown> }).input;
    expect(input.ConditionExpression).toBe("#status IN (:from0)");
    expect(values(input)).toMatchObject({ ":from0": "validating" });
    expect(fieldsSet(input)).toEqual({ status: "in_progress", inProgressAt: 5 });
  });

  it("refuse a status the move does not lead to, before writing anything", async () => {
    const { table, sent } = recordingTable();
    const batches = new Batches(table);
    await expect(batches.transition("b1", MOVES.cancel, { status: "completed" })).rejects.toThrow(
      /cancel cannot make it completed/,
    );
    await expect(batches.transition("b1", MOVES.expire, { status: "expired" })).rejects.toThrow();
    expect(sent).toEqual([]);
  });

  it("never start from a final status, and every one but expire leads somewhere", () => {
    for (const move of Object.values(MOVES)) {
      for (const from of move.from) expect(FINAL_STATUSES).not.toContain(from);
    }
    const finish: readonly BatchStatus[] = MOVES.finish.to;
    expect([...finish].sort()).toEqual(["cancelled", "completed", "expired"]);
  });

  it("drop a final batch by TTL a day after it is retained until", async () => {
    const { table, sent } = recordingTable();
    await new Batches(table).transition("b1", MOVES.fail, { failedAt: 1, retainUntil: 1_000 });
    const input = (sent[0] as { input: Record<string, unknown> }).input;
    expect(fieldsSet(input)).toMatchObject({ status: "failed", ttl: 1_000 + 86_400 });
  });
});

describe("TTLs", () => {
  it("are the store's, from the upload's expiry", async () => {
    const { table, sent } = recordingTable();
    const upload = {
      id: "upload_1",
      userId: "u",
      filename: "f.jsonl",
      purpose: "batch",
      bytes: 10,
      mimeType: "text/plain",
      createdAt: 100,
      expiresAt: 3_700,
      status: "pending" as const,
      fileId: null,
    };
    await new Uploads(table).create(upload);
    const { input } = sent[0] as { input: Record<string, unknown> };
    const items = (input.TransactItems as { Put: { Item: never } }[]).map((op) =>
      unmarshalItem(op.Put.Item),
    );
    expect(items[0]).toMatchObject({ id: "upload_1", ttl: TTL.afterExpiry(3_700) });
    expect(TTL.afterExpiry(3_700)).toBe(3_700 + 86_400);
  });
});

describe("the clock", () => {
  it("decides when a session has ended", async () => {
    let now = 1_000_000;
    const { table } = recordingTable({
      Item: { userId: { S: "u" }, csrf: { S: "c" }, version: { N: "0" }, expiresAt: { N: "1100" } },
    });
    const sessions = new Sessions(
      table,
      async () => "token",
      clockOf(() => now),
    );
    expect(await sessions.get("token")).toMatchObject({ userId: "u" });
    now = 1_100_000;
    expect(await sessions.get("token")).toBeUndefined();
  });
});

describe("a rate limit's refusal", () => {
  it("carries what the limits leave, and the rim renders OpenAI's headers from it", () => {
    const err = new RateLimited("rpm", "key", "slow down", 1_500, {
      requests: { limit: 3, remaining: 0, resetMs: 1_500 },
    });
    expect(toApiError(err)).toMatchObject({
      status: 429,
      type: "requests",
      code: "rate_limit_exceeded",
      headers: {
        "x-ratelimit-limit-requests": "3",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1.5s",
        "retry-after": "2",
        "retry-after-ms": "1500",
      },
    });
    expect(statusOf(err)).toBe(429);
    // An error that is no domain error is logged as the upstream's failure.
    expect(statusOf(new TypeError("boom"))).toBe(502);
  });
});
