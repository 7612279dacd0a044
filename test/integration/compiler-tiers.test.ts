/**
 * The API function as Lambda runs it (functions/api/handler.ts, in a process of its own on the
 * run's resources) chooses V8's compilers for its memory size at initialisation: at 128 MB
 * nothing its calls make hot is optimised, at a full vCPU it is, as V8 does by default
 * (functions/api/compiler-tiers.ts). `--trace-opt` makes node print each optimising
 * compilation; what counts is what it prints while the process serves calls.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnApiProcess, stopProcesses } from "../fixtures/core";
import type { UpstreamFixture } from "../fixtures/upstream";
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
  const { secret } = await createKey(await createUser({ paidUsd: 1 }));
  const client = openai(secret, { baseURL: `${url}/v1` });
  for (let call = 0; call < 100; call++) {
    const answer = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: `Say hello ${call}` }],
      max_tokens: 20,
      stream: call % 2 === 0,
    });
    if (Symbol.asyncIterator in answer) for await (const _ of answer);
  }
  await stopProcesses(children);
  return optimised;
}

describe("the API function's compilers", () => {
  it("optimise nothing at 128 MB, and what turns hot at a full vCPU", async () => {
    expect(await optimisedWhileServing(128)).toBe(0);
    expect(await optimisedWhileServing(1769)).toBeGreaterThan(0);
    // Two processes started and 200 calls served under --trace-opt: about 19 s on a quiet
    // machine, past the default 30 s beside other work.
  }, 120_000);
});
