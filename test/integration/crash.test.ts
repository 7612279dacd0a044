import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { functionServices } from "../../functions/adapters/services";
import { runJanitor } from "../../shared/janitor/sweep";
import { accountKey } from "../../shared/store/accounts";
import { instanceEnv, spawnApiProcess, startSluiceInstance, stopProcesses } from "../fixtures/core";
import { type DynamoRequestInfo, startDynamoFaultProxy } from "../fixtures/dynamo-fault-proxy";
import { capturedLog } from "../fixtures/logs";
import { gate, type UpstreamFixture } from "../fixtures/upstream";
import { accountItem, keyItem, limitedUser, logLines, nothingLeftInFlight } from "./rate-limited";
import {
  api,
  createFixtureChannel,
  createKey,
  createUser,
  eventually,
  type Json,
  openai,
  settledAccount,
  sluice,
  sluiceTable,
} from "./support";

/**
 * Processes that die mid-call, and the janitor that reaps what they held. Its sweeps here
 * take deadlines of seconds, so they would reap the calls other files have in flight: this
 * file runs alone, after the others (vitest.config.ts, project "integration-alone").
 */

let upstream: UpstreamFixture;
let model: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel());
});
// A process a test started is gone when the test ends: its janitor, sweeping every 300 ms with
// a deadline of seconds, would reap the holds the next test makes to watch (it reaps what it
// finds anywhere in the table).
afterEach(() => stopProcesses(children));
afterAll(async () => {
  await upstream.close();
});

/**
 * The API and its janitor in a process of their own, holds reaped 3 s past their start
 * unless told otherwise, its DynamoDB calls sent where told (a fault proxy).
 */
async function startApiProcess(
  options: { holdDeadlineSeconds?: number; dynamoEndpoint?: string } = {},
): Promise<{ url: string; child: ChildProcess }> {
  const started = await spawnApiProcess(sluice, {
    dynamoEndpoint: options.dynamoEndpoint,
    env: {
      SLUICE_HOLD_DEADLINE_SECONDS: String(options.holdDeadlineSeconds ?? 3),
      JANITOR_INTERVAL_MS: "300",
    },
  });
  children.push(started.child);
  return started;
}

describe("a process killed mid-stream", () => {
  it("leaves holds that the janitor gives back past their deadline, each call logged as unsettled", async () => {
    const user = await createUser({ paidUsd: 1 });
    const key = await createKey(user, { remain_quota: 200_000, unlimited_quota: false });
    const { url, child } = await startApiProcess();
    const client = openai(key.secret, { baseURL: `${url}/v1` });

    // Three slow streams: each has sent its first chunk and waits for more.
    const resume = gate();
    upstream.enqueue(...[1, 2, 3].map(() => ({ pauseAfterChunks: 2, resume: resume.promise })));
    const streams = await Promise.all(
      [1, 2, 3].map(async () => {
        const stream = await client.chat.completions.create({
          model,
          messages: [{ role: "user", content: "Say hello" }],
          max_tokens: 1_000,
          stream: true,
        });
        const chunks = stream[Symbol.asyncIterator]();
        await chunks.next();
        return chunks;
      }),
    );
    const held = await sluiceTable().get<Record<string, unknown>>(accountKey(user.id), true);
    const holds = Object.keys(held ?? {}).filter((name) => name.startsWith("h_"));
    expect(holds).toHaveLength(3);
    expect(held?.av).toBeLessThan(500_000);

    child.kill("SIGKILL");
    await once(child, "exit");
    resume.open();
    for (const chunks of streams) await chunks.next().catch(() => undefined);

    // Started again on the same data, the process's janitor reaps the three holds.
    const again = await startApiProcess();
    // The janitor reaps the account's holds and the key's, one item after the other.
    const unheld = (item: Record<string, unknown> | undefined) =>
      Object.keys(item ?? {}).every((name) => !name.startsWith("h_"));
    await eventually(() => keyItem(key.id), unheld, 20_000);
    const account = await eventually(
      () => sluiceTable().get<Record<string, unknown>>(accountKey(user.id), true),
      unheld,
      20_000,
    );
    expect(account?.av).toBe(500_000);
    // The three calls' slots under the user's concurrency limit are free again.
    expect(account).toMatchObject({ hn: 0, cn: 0 });
    const me = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
    expect(me).toMatchObject({ total_quota: 500_000, used_quota: 0, request_count: 0 });
    const after = (await api(user.accessToken, "GET", `/api/token/${key.id}`)).body.data;
    expect(after.remain_quota).toBe(200_000);

    // The operator sees each of the three calls, marked as never settled.
    const lines = (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data;
    const unsettled = lines.filter((line: Json) => line.outcome === "unsettled");
    expect(unsettled).toHaveLength(3);
    for (const line of unsettled) {
      expect(line).toMatchObject({ type: "consume", model, quota: 0 });
      expect(line.held).toBeGreaterThan(0);
    }
    // Its 3-second deadline would reap the holds of the tests below as well.
    again.child.kill("SIGKILL");
    await once(again.child, "exit");
  }, 60_000);
});

const hello = [{ role: "user" as const, content: "Say hello" }];

/** An account's hold records, as [id, "start.units.key.model"] (the start in base 36). */
async function holdRecords(userId: string): Promise<[string, string][]> {
  const item = await sluiceTable().get<Record<string, unknown>>(accountKey(userId), true);
  return Object.entries(item ?? {}).flatMap(([name, value]) =>
    name.startsWith("h_") ? [[name.slice(2), String(value)] as [string, string]] : [],
  );
}

/**
 * The moment (unix seconds) from which a hold taken at `start` (unix ms) is past a deadline
 * of `now - cutoff(start)` seconds, while the holds taken since (other tests' calls in
 * flight) are not.
 */
const cutoff = (start: number) => Math.ceil(start / 1000);

/** The user's log lines of calls (not top-ups), newest first. */
async function calls(token: string): Promise<Json[]> {
  const lines: Json[] = (await api(token, "GET", "/api/log/self?size=20")).body.data;
  return lines.filter((line) => line.type === "consume");
}

const startOf = (record: string) => Number.parseInt(record.split(".")[0] ?? "", 36);

describe("a process killed after a call's log line, before its account moved", () => {
  it("is settled by the janitor as the line says: charged once, the books balanced", async () => {
    const user = await createUser({ paidUsd: 1 });
    const key = await createKey(user);
    const proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    try {
      const { url, child } = await startApiProcess({
        dynamoEndpoint: proxy.endpoint,
        holdDeadlineSeconds: 3_600,
      });
      // Every settlement of the account is lost on its way: the log line is written, and
      // the account still holds.
      const settlesAccount = (r: DynamoRequestInfo) =>
        r.operation === "UpdateItem" &&
        JSON.stringify(r.body.Key).includes(`USER#${user.id}`) &&
        String(r.body.ConditionExpression).includes("attribute_exists(#h");
      proxy.inject({ match: settlesAccount, fault: { kind: "drop-request" }, times: Infinity });
      await openai(key.secret, { baseURL: `${url}/v1` }).chat.completions.create({
        model,
        messages: hello,
        max_tokens: 50,
      });
      const [line] = await eventually(
        () => calls(user.accessToken),
        (lines) => lines.length === 1 && proxy.log.some((r) => r.fault === "drop-request"),
      );
      child.kill("SIGKILL");
      await once(child, "exit");
      expect(line).toMatchObject({ type: "consume", outcome: "completed" });
      expect(line.quota).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
    const records = await holdRecords(user.id);
    expect(records).toHaveLength(1);
    const [, record] = records[0] as [string, string];

    // The janitor, on services of its own, its deadline just past the hold's start.
    const from = cutoff(startOf(record));
    await eventually(
      async () => Date.now(),
      (time) => time >= from * 1000,
    );
    const now = Math.floor(Date.now() / 1000);
    const services = functionServices(
      instanceEnv(sluice, { env: { SLUICE_HOLD_DEADLINE_SECONDS: String(now - from) } }),
    );
    try {
      const report = await runJanitor(services, now);
      expect(report.holdsSettled).toBeGreaterThanOrEqual(1);
      const settled = await calls(user.accessToken);
      expect(settled).toHaveLength(1);
      const [line] = settled;
      expect(line).toMatchObject({ outcome: "completed" });
      const account = await settledAccount(user.id);
      expect(account.av).toBe(500_000 - line.quota);
      const me = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
      expect(me).toMatchObject({
        total_quota: 500_000 - line.quota,
        used_quota: line.quota,
        request_count: 1,
      });
      // A second sweep finds nothing left to do: charged once.
      await runJanitor(services, now);
      expect((await settledAccount(user.id)).av).toBe(500_000 - line.quota);
      const rollups = await eventually(
        async () => (await api(user.accessToken, "GET", "/api/usage/self?days=1")).body.data,
        (rows: Json[]) => rows.reduce((sum, row) => sum + row.requests, 0) === 1,
      );
      expect(rollups.reduce((sum: number, row: Json) => sum + row.quota, 0)).toBe(line.quota);
    } finally {
      services.table.transport.destroy?.();
    }
  }, 60_000);
});

describe("the janitor", () => {
  it("releases the hold of a call that outlives its deadline, and its late settlement says so", async () => {
    const user = await createUser({ paidUsd: 1 });
    const key = await createKey(user);
    const { log, lines } = capturedLog();
    const instance = await startSluiceInstance(sluice, { log });
    try {
      const resume = gate();
      upstream.enqueue({ pauseAfterChunks: 2, resume: resume.promise });
      const stream = await openai(key.secret, {
        baseURL: `${instance.url}/v1`,
      }).chat.completions.create({ model, messages: hello, max_tokens: 50, stream: true });
      const chunks = stream[Symbol.asyncIterator]();
      await chunks.next();
      const [[holdId, record]] = (await holdRecords(user.id)) as [[string, string]];
      // A sweep at the moment the hold is past a deadline of 0 s.
      const reaped = await instance.services.ledger.reapHolds(cutoff(startOf(record)), 0);
      expect(reaped.released).toBeGreaterThanOrEqual(1);
      resume.open();
      while (!(await chunks.next()).done);
      // The call was served, for free: its line says unsettled, and a warning tells of it.
      const warned = await eventually(
        async () => lines.filter((line) => line.holdId === holdId),
        (found) => found.length > 0,
      );
      expect(warned).toEqual([
        expect.objectContaining({
          level: "WARN",
          message: "settled after the janitor released the hold: the call goes unbilled",
          holdId,
          userId: user.id,
        }),
      ]);
      expect(await calls(user.accessToken)).toMatchObject([{ outcome: "unsettled", quota: 0 }]);
      expect((await settledAccount(user.id)).av).toBe(500_000);
    } finally {
      await instance.close();
    }
  }, 30_000);

  it("goes on past an item it cannot reap, and reaps it on a later sweep", async () => {
    const proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    const { log, lines } = capturedLog();
    const instance = await startSluiceInstance(sluice, {
      dynamoEndpoint: proxy.endpoint,
      // A dropped read costs a second (a busy machine's answers can take longer than 300 ms).
      env: { SLUICE_DYNAMODB_TIMEOUT_MS: "1000" },
      log,
    });
    try {
      const [stuck, other] = [await createUser({ paidUsd: 1 }), await createUser({ paidUsd: 1 })];
      // Calls whose process stopped ten minutes ago: older than any other hold of the run,
      // younger than the deadline of the local stack's own janitor.
      const start = Date.now() - 600_000;
      for (const user of [stuck, other]) {
        await instance.services.accounts.holdAccount(user.id, {
          id: `gone${user.id.slice(0, 12)}`,
          start,
          units: 1_000,
          keyTag: "deadbeef",
          model,
        });
      }
      // Every read of one account fails.
      proxy.inject({
        match: (r) =>
          r.operation === "GetItem" && JSON.stringify(r.body.Key).includes(`USER#${stuck.id}`),
        fault: { kind: "drop-request" },
        times: Infinity,
      });
      const now = Math.floor(Date.now() / 1000);
      const report = await instance.services.ledger.reapHolds(now, 300);
      expect(report.failed).toBeGreaterThanOrEqual(1);
      expect(report.released).toBeGreaterThanOrEqual(1);
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: "ERROR",
          message: "reaping a hold failed",
          item: expect.stringContaining(`USER#${stuck.id}`),
        }),
      );
      expect((await settledAccount(other.id)).av).toBe(500_000);
      expect(await holdRecords(stuck.id)).toHaveLength(1);

      proxy.clear();
      await instance.services.ledger.reapHolds(now, 300);
      expect((await settledAccount(stuck.id)).av).toBe(500_000);
    } finally {
      await instance.close();
      await proxy.close();
    }
  }, 30_000);
});

describe("rate limits", () => {
  /** A chat completion's status, asked of the run's stack. */
  const chat = async (secret: string) =>
    (
      await fetch(`${sluice.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model, messages: hello, max_tokens: 20 }),
      }).then(async (response) => {
        await response.arrayBuffer();
        return response;
      })
    ).status;

  it("give a killed process's slots back when the janitor reaps its hold", async () => {
    const { user, key } = await limitedUser({ concurrency: 1 });
    // Its janitor reaps nothing: the test sweeps by hand.
    const { url, child } = await startApiProcess({ holdDeadlineSeconds: 3_600 });
    const resume = gate();
    upstream.enqueue({ pauseAfterChunks: 2, resume: resume.promise });
    const stream = await openai(key.secret, { baseURL: `${url}/v1` }).chat.completions.create({
      model,
      messages: hello,
      max_tokens: 20,
      stream: true,
    });
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    child.kill("SIGKILL");
    await once(child, "exit");
    resume.open();
    await chunks.next().catch(() => undefined);

    // The dead call still holds the key's only slot, and one of its user's.
    const held = await keyItem(key.id);
    expect(held.hn).toBe(1);
    expect((await accountItem(user.id)).cn).toBe(1);
    const refused = await chat(key.secret);
    expect(refused).toBe(429);

    // The janitor, its deadline just past the hold's start, gives the slots back.
    const [record] = Object.entries(held).flatMap(([name, value]) =>
      name.startsWith("h_") ? [String(value)] : [],
    );
    const from = Math.ceil(Number.parseInt(String(record).split(".")[0] ?? "0", 36) / 1000);
    await eventually(
      async () => Date.now(),
      (time) => time >= from * 1000,
    );
    const now = Math.floor(Date.now() / 1000);
    const services = functionServices(
      instanceEnv(sluice, { env: { SLUICE_HOLD_DEADLINE_SECONDS: String(now - from) } }),
    );
    try {
      await runJanitor(services, now);
    } finally {
      services.table.transport.destroy?.();
    }
    const reaped = await keyItem(key.id);
    expect(reaped.hn).toBe(0);
    expect(Object.keys(reaped).filter((name) => name.startsWith("h_"))).toEqual([]);
    expect(await chat(key.secret)).toBe(200);
    await nothingLeftInFlight(user, [key.id]);
    const lines = await logLines(user.accessToken);
    expect(lines.map((line: Json) => line.outcome).sort()).toEqual(["completed", "unsettled"]);
  }, 60_000);
});
