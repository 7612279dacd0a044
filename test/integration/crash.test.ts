import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountKey } from "../../shared/store/accounts";
import { instanceEnv } from "../fixtures/sluice-instance";
import { gate, type UpstreamFixture } from "../fixtures/upstream";
import {
  api,
  createFixtureChannel,
  createKey,
  createUser,
  eventually,
  type Json,
  openai,
  sluice,
  sluiceTable,
} from "./support";

let upstream: UpstreamFixture;
let model: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel());
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await upstream.close();
});

/** The API and its janitor in a process of their own, holds reaped 3 s past their start. */
async function startApiProcess(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/api-process.ts"], {
    env: {
      ...process.env,
      ...instanceEnv(sluice, {
        env: { SLUICE_HOLD_DEADLINE_SECONDS: "3", JANITOR_INTERVAL_MS: "300" },
      }),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [first] = (await once(lines, "line")) as [string];
  return { url: JSON.parse(first).url, child };
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
    await startApiProcess();
    const account = await eventually(
      () => sluiceTable().get<Record<string, unknown>>(accountKey(user.id), true),
      (item) => Object.keys(item ?? {}).every((name) => !name.startsWith("h_")),
      20_000,
    );
    expect(account?.av).toBe(500_000);
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
  }, 60_000);
});
