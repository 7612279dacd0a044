/**
 * The API function as Lambda runs it (functions/api/handler.ts, in a process of its own on the
 * run's resources) chooses V8's compilers for its memory size at initialisation: at 128 MB
 * nothing its calls make hot is optimised, at a full vCPU it is, as V8 does by default
 * (functions/api/compiler-tiers.ts). `--trace-opt` makes node print each optimising
 * compilation; what counts is what it prints while the process serves calls.
 *
 * And as built for Lambda (its entry.mjs and bundle, as `cdk synth` builds them), at 128 MB its
 * bundle is compiled whole when the entry imports it: V8's log of function events
 * (`--log-function-events`) shows no function of the bundle compiled at its first call, where
 * at a full vCPU hundreds are.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApiFunction } from "../../bench/lambda-share/bundles";
import { spawnApiProcess, stopProcesses } from "../fixtures/core";
import type { UpstreamFixture } from "../fixtures/upstream";
import { compiledLazily } from "../fixtures/v8-log";
import { createFixtureChannel, createKey, createUser, openai, sluice } from "./support";

let upstream: UpstreamFixture;
let model: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel());
});
afterAll(async () => {
  await stopProcesses(children);
  await upstream?.close();
});

/** TurboFan's compilations in an API process of `memory` MB while it serves 100 calls. */
async function optimisedWhileServing(memory: number): Promise<number> {
  let optimised = 0;
  const { url, child } = await spawnApiProcess(sluice, {
    env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory), JANITOR_INTERVAL_MS: "3600000" },
    nodeFlags: ["--trace-opt"],
    onLine: (line) => {
      if (/compiling method .*TURBOFAN/.test(line)) optimised++;
    },
  });
  children.push(child);
  await serveCalls(url, 100);
  await stopProcesses(children);
  return optimised;
}

/** `count` chat calls through the API at `url`, every other one streamed, each read whole. */
async function serveCalls(url: string, count: number): Promise<void> {
  const { secret } = await createKey(await createUser({ paidUsd: 1 }));
  const client = openai(secret, { baseURL: `${url}/v1` });
  for (let call = 0; call < count; call++) {
    const answer = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: `Say hello ${call}` }],
      max_tokens: 20,
      stream: call % 2 === 0,
    });
    if (Symbol.asyncIterator in answer) for await (const _ of answer);
    else expect(answer.choices[0]?.message.content).toBeTruthy();
  }
}

/**
 * How many of the bundle's functions V8 compiled at their first call (lazily) in a process of
 * the API as built for Lambda, at `memory` MB, from its start through two calls.
 */
async function compiledLazilyServing(entry: string, memory: number, dir: string): Promise<number> {
  const name = `v8-${memory}.log`;
  const { url, child } = await spawnApiProcess(sluice, {
    env: {
      API_ENTRY: entry,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory),
      JANITOR_INTERVAL_MS: "3600000",
    },
    nodeFlags: ["--log-function-events", `--logfile=${join(dir, name)}`],
    onLine: () => {},
  });
  children.push(child);
  await serveCalls(url, 2);
  await stopProcesses(children);
  return compiledLazily(dir, name, new URL("index.mjs", entry).href).length;
}

describe("the API function's compilers", () => {
  it("optimise nothing at 128 MB, and what turns hot at a full vCPU", async () => {
    expect(await optimisedWhileServing(128)).toBe(0);
    expect(await optimisedWhileServing(1769)).toBeGreaterThan(0);
    // Two processes started and 200 calls served under --trace-opt: about 19 s on a quiet
    // machine, past the default 30 s beside other work.
  }, 120_000);

  it("compile the bundle whole at initialisation at 128 MB, each function at its first call at a full vCPU", async () => {
    // Inside the project, as the bench builds it: the bundle's external imports (the AWS SDK,
    // the side bundles) resolve from its node_modules.
    mkdirSync(".cache", { recursive: true });
    const dir = mkdtempSync(join(process.cwd(), ".cache", "api-build-"));
    try {
      const entry = await buildApiFunction(dir);
      expect(await compiledLazilyServing(entry, 128, dir)).toBe(0);
      expect(await compiledLazilyServing(entry, 1769, dir)).toBeGreaterThan(100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
