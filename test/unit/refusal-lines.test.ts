import { beforeAll, describe, expect, it } from "vitest";
import { RefusalLines } from "../../shared/http/refusal-lines";
import { newChannelRecord } from "../../shared/store/channels";
import { type Core, startCore } from "../fixtures/core";

// biome-ignore lint/suspicious/noExplicitAny: JSON read by tests; every field used is asserted.
type Json = any;

/**
 * Refused calls in the usage log (http/refusal-lines.ts), on the API in-process over DynamoDB
 * in memory, whose log shows every write: a flood of refusals costs a bounded number of writes
 * to the usage log, and the calls are all counted in the key owner's log.
 */

const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"]);
const MODEL = "gpt-4o-mini";
const FLOOD = 500;

let core: Core;
let userToken: string;
let key: string;
/** The refusal counter's clock, which the test moves from one minute to the next. */
let now = Date.UTC(2026, 0, 5, 12, 0, 10);

async function asAdmin(method: string, path: string, body?: unknown): Promise<Json> {
  const answer = await core.call(method, path, {
    headers: { authorization: `Bearer ${core.admin.accessToken}` },
    body,
  });
  expect(answer.status, `${method} ${path}`).toBe(200);
  return answer.body.data;
}

/** Writes to the usage log's table while `run` runs. */
async function logWritesDuring(run: () => Promise<unknown>): Promise<number> {
  const before = core.dynamo.log.length;
  await run();
  return core.dynamo.log
    .slice(before)
    .filter((entry) => WRITES.has(entry.operation))
    .filter((entry) => JSON.stringify(entry.input).includes('"sluice-log"')).length;
}

function chat() {
  return core.call("POST", "/v1/chat/completions", {
    headers: { authorization: `Bearer ${key}` },
    body: { model: MODEL, messages: [{ role: "user", content: "hi" }] },
  });
}

async function refusedLines(): Promise<Json[]> {
  const answer = await core.call("GET", "/api/log/self?size=50", {
    headers: { authorization: `Bearer ${userToken}` },
  });
  expect(answer.status).toBe(200);
  return answer.body.data.filter((line: Json) => line.type === "refused");
}

describe("refused calls in the usage log", () => {
  beforeAll(async () => {
    core = await startCore();
    core.services.refusalLines = new RefusalLines(core.services.usage, () => now);
    await core.services.channels.put(
      newChannelRecord({ id: "c-refusals", baseUrl: "http://upstream.test/v1", models: [MODEL] }),
    );
    core.services.channelDirectory.invalidate();
    // A user with nothing to spend.
    const user = await asAdmin("POST", "/api/user", { name: "refused" });
    userToken = user.access_token;
    const made = await core.call("POST", "/api/token", {
      headers: { authorization: `Bearer ${userToken}` },
      body: { name: "flooder" },
    });
    key = made.body.data.key;
  });

  it("a flood of 500 refusals writes one line, which the next minute's refusal completes", async () => {
    let answers: Awaited<ReturnType<typeof chat>>[] = [];
    const writes = await logWritesDuring(async () => {
      answers = await Promise.all(Array.from({ length: FLOOD }, () => chat()));
    });
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 429));
    expect(answers.every((a) => a.body.error.code === "insufficient_quota")).toBe(true);
    // One line for the key's minute, however many calls were refused in it.
    expect(writes).toBe(1);
    const [first, ...others] = await refusedLines();
    expect(others).toEqual([]);
    expect(first).toMatchObject({
      type: "refused",
      reason: "insufficient_quota",
      key_name: "flooder",
      model: MODEL,
      status: 429,
      quota: 0,
    });
    expect(first.count).toBeGreaterThanOrEqual(1);
    expect(first.count).toBeLessThanOrEqual(FLOOD);

    // A minute later, one more refusal: its own line, and the last minute's remainder.
    now += 60_000;
    const later = await logWritesDuring(() => chat());
    expect(later).toBeLessThanOrEqual(2);
    const lines = await refusedLines();
    expect(lines).toHaveLength(2);
    expect(lines.reduce((sum: number, line: Json) => sum + line.count, 0)).toBe(FLOOD + 1);

    // More of that minute: counted, not written.
    expect(await logWritesDuring(() => Promise.all([chat(), chat(), chat()]))).toBe(0);
  });

  it("a refused call with a key that names no account writes nothing", async () => {
    const writes = await logWritesDuring(() =>
      Promise.all(
        Array.from({ length: 50 }, () =>
          core.call("POST", "/v1/chat/completions", {
            headers: { authorization: `Bearer sk-${"x".repeat(48)}` },
            body: { model: MODEL, messages: [{ role: "user", content: "hi" }] },
          }),
        ),
      ),
    );
    expect(writes).toBe(0);
  });
});
