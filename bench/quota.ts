/**
 * `npm run bench:quota`: what holding quota costs. Runs the same requests against two local
 * stacks, one with holds on and one with holds off (charged only afterwards), and reports the
 * gateway's own time from Server-Timing and the DynamoDB calls per request on the warm path,
 * before the first byte and after the last.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startLocalStack } from "../infra/local/stack";
import { DynamoCallCounter, JANITOR_OFF_MS } from "./dynamo-calls";
import { percentile } from "./stats";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const WARMUP = 50;
/** Like a fast real upstream; the hold runs while it answers. */
const UPSTREAM_LATENCY_MS = 20;

interface ModeResult {
  holds: "on" | "off";
  requests: number;
  plain: {
    gatewayP50: number;
    gatewayP99: number;
    callsBeforeFirstByte: number;
    callsAfterLastByte: number;
  };
  stream: {
    gatewayP50: number;
    gatewayP99: number;
    callsBeforeFirstByte: number;
    callsAfterLastByte: number;
  };
}

function gatewayMs(serverTiming: string | null): number {
  const match = /gateway;dur=([\d.]+)/.exec(serverTiming ?? "");
  if (!match) throw new Error(`no gateway time in Server-Timing: ${serverTiming}`);
  return Number(match[1]);
}

const counter = new DynamoCallCounter();

async function measure(url: string, key: string, stream: boolean, count: number) {
  const gateway: number[] = [];
  let before = 0;
  let after = 0;
  for (let i = 0; i < count; i++) {
    const calls = await counter.chat(url, key, {
      model: "gpt-4o-mini",
      stream,
      max_tokens: 64,
      messages: [{ role: "user", content: "Hi" }],
    });
    gateway.push(gatewayMs(calls.response.headers.get("server-timing")));
    before += calls.before;
    after += calls.after;
  }
  return {
    gatewayP50: percentile(gateway, 50),
    gatewayP99: percentile(gateway, 99),
    callsBeforeFirstByte: before / count,
    callsAfterLastByte: after / count,
  };
}

async function child(holds: "on" | "off"): Promise<void> {
  const stack = await startLocalStack({
    port: 0,
    env: { SLUICE_HOLDS: holds },
    demoUpstreamLatencyMs: UPSTREAM_LATENCY_MS,
    janitorIntervalMs: JANITOR_OFF_MS,
    responseObserver: counter.observer,
  });
  try {
    await measure(stack.url, stack.demoKey, false, WARMUP);
    const result: ModeResult = {
      holds,
      requests: REQUESTS,
      plain: await measure(stack.url, stack.demoKey, false, REQUESTS),
      stream: await measure(stack.url, stack.demoKey, true, REQUESTS),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const results: ModeResult[] = [];
  for (const holds of ["on", "off"] as const) {
    // A process each: the functions read their settings once, when loaded.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", self, "child", holds],
      {
        maxBuffer: 10 * 1024 * 1024,
      },
    );
    results.push(JSON.parse(stdout.trim().split("\n").at(-1) as string));
  }
  const [on, off] = results as [ModeResult, ModeResult];
  const row = (label: string, a: number, b: number, unit: string) =>
    `  ${label.padEnd(34)} ${a.toFixed(2).padStart(8)} ${b.toFixed(2).padStart(8)} ${(a - b >= 0 ? "+" : "") + (a - b).toFixed(2)} ${unit}`;
  console.log(
    `\nQuota holds: ${REQUESTS} sequential requests each, warm, demo upstream answering in ${UPSTREAM_LATENCY_MS} ms\n`,
  );
  console.log(`  ${"".padEnd(34)} ${"holds on".padStart(8)} ${"off".padStart(8)} difference`);
  for (const kind of ["plain", "stream"] as const) {
    console.log(row(`${kind}: gateway p50`, on[kind].gatewayP50, off[kind].gatewayP50, "ms"));
    console.log(row(`${kind}: gateway p99`, on[kind].gatewayP99, off[kind].gatewayP99, "ms"));
    console.log(
      row(
        `${kind}: DynamoDB calls before 1st byte`,
        on[kind].callsBeforeFirstByte,
        off[kind].callsBeforeFirstByte,
        "",
      ),
    );
    console.log(
      row(
        `${kind}: DynamoDB calls after last byte`,
        on[kind].callsAfterLastByte,
        off[kind].callsAfterLastByte,
        "",
      ),
    );
  }
  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/quota-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`,
  );
  console.log(`\n  written to ${file}`);
}

if (process.argv[2] === "child") {
  child(process.argv[3] === "off" ? "off" : "on").catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
