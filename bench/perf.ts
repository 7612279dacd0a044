/**
 * `npm run bench`: sluice against the floor, measured in one run on this machine.
 *
 *   direct  the upstream fixture (demo upstream, answering in 20 ms), called directly
 *   proxy   the same through a bare node:http pass-through proxy: the limit for a Node gateway
 *   sluice  the local stack with a real key, a priced model, holds, settlement and logs on
 *
 * Then sluice's own CPU per request in-process, each function's cold start, and what the
 * tokenizer costs the calls that must be estimated (bench/perf/tokenizer.ts).
 *
 * Each runs in its own process, as does the load: a sub-millisecond latency client at
 * concurrency 1, autocannon at 32. Every figure is a ratio or a difference against a
 * baseline from this same run. Results are printed and written to bench/results/.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { promisify } from "node:util";
import { type ShareOptions, shareOptions } from "./lambda-share/lambda";
import { type Child, startChild, stopChild } from "./perf/child";
import { coldStart } from "./perf/cold-start";
import { coreCpuPerRequest } from "./perf/core";
import { autocannon } from "./perf/load";
import { printTokenizerCost, tokenizerCost } from "./perf/tokenizer";
import { percentile } from "./stats";

const run = promisify(execFile);
const LATENCY_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 500);
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LOAD_CONCURRENCY = 32;
const UPSTREAM_LATENCY_MS = 20;

interface Target {
  name: "direct" | "proxy" | "sluice";
  url: string;
  key?: string;
  child?: Child;
}

/** The three targets at concurrency 1, taking turns request by request. */
async function latencies(targets: Target[], stream: boolean) {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "bench/perf/client.ts"], {
    env: {
      ...process.env,
      TARGETS: JSON.stringify(targets.map(({ name, url, key }) => ({ name, url, key }))),
      STREAM: String(stream),
      COUNT: String(LATENCY_REQUESTS),
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  const samples = JSON.parse(stdout) as Record<
    string,
    { ttfb: number[]; total: number[]; errors: number }
  >;
  return Object.fromEntries(
    Object.entries(samples).map(([name, s]) => [
      name,
      {
        p50: percentile(s.total, 50),
        p99: percentile(s.total, 99),
        ttfbP50: percentile(s.ttfb, 50),
        errors: s.errors,
      },
    ]),
  );
}

/** CPU seconds of a process so far: its own account, or /proc for DynamoDB Local's JVM. */
async function cpuSeconds(child: Child | undefined, pid?: number): Promise<number> {
  if (child) {
    const usage = await child.ask<{ user: number; system: number }>("cpu");
    return (usage.user + usage.system) / 1e6;
  }
  if (!pid) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

async function load(target: Target, stream: boolean, dynamoPid?: number) {
  const cpuBefore = await cpuSeconds(target.child);
  const dynamoBefore = await cpuSeconds(undefined, dynamoPid);
  const result = await autocannon({
    url: target.url,
    key: target.key,
    stream,
    concurrency: LOAD_CONCURRENCY,
    seconds: LOAD_SECONDS,
  });
  const cpu = (await cpuSeconds(target.child)) - cpuBefore;
  const dynamoCpu = (await cpuSeconds(undefined, dynamoPid)) - dynamoBefore;
  return {
    requestsPerSecond: result.requestsPerSecond,
    p50: result.p50,
    p99: result.p99,
    errors: result.errors,
    cpuMsPerRequest: target.child ? (cpu * 1000) / result.requests : null,
    dynamoCpuMsPerRequest: dynamoPid ? (dynamoCpu * 1000) / result.requests : null,
  };
}

async function main(): Promise<void> {
  const upstream = await startChild("bench/perf/upstream.ts", {
    env: { ...process.env, UPSTREAM_LATENCY_MS: String(UPSTREAM_LATENCY_MS) },
  });
  const upstreamUrl = String(upstream.info.url);
  const proxy = await startChild("bench/perf/proxy.ts", {
    env: { ...process.env, UPSTREAM_URL: upstreamUrl },
  });
  const sluice = await startChild("bench/perf/sluice.ts", {
    env: { ...process.env, UPSTREAM_URL: upstreamUrl },
  });
  const dynamoPid = Number(sluice.info.dynamoPid) || undefined;
  const targets: Target[] = [
    { name: "direct", url: upstreamUrl },
    { name: "proxy", url: String(proxy.info.url), child: proxy },
    { name: "sluice", url: String(sluice.info.url), key: String(sluice.info.key), child: sluice },
  ];
  try {
    const scenarios: Record<string, unknown> = {};
    for (const stream of [false, true]) {
      const kind = stream ? "stream" : "plain";
      const atOne = await latencies(targets, stream);
      const atMany: Record<string, Awaited<ReturnType<typeof load>>> = {};
      for (const target of targets)
        atMany[target.name] = await load(
          target,
          stream,
          target.name === "sluice" ? dynamoPid : undefined,
        );
      scenarios[kind] = { concurrency1: atOne, [`concurrency${LOAD_CONCURRENCY}`]: atMany };
    }
    const dynamoCalls = {
      plain: await sluice.ask("dynamoCalls", false, 50),
      stream: await sluice.ask("dynamoCalls", true, 50),
    };
    const capacityUnits = {
      stream: await sluice.ask("capacityUnits", true, 200, "unlimited"),
      streamLimitedKey: await sluice.ask("capacityUnits", true, 200, "limited"),
      plain: await sluice.ask("capacityUnits", false, 200, "unlimited"),
      streamAt32: await sluice.ask("capacityUnits", true, 640, "unlimited", LOAD_CONCURRENCY),
    };
    const cold = coldStart();
    const core = await coreCpuPerRequest();
    const tokenizer = await tokenizerCost();
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      upstreamLatencyMs: UPSTREAM_LATENCY_MS,
      latencyRequests: LATENCY_REQUESTS,
      loadSeconds: LOAD_SECONDS,
      scenarios,
      dynamoCalls,
      capacityUnits,
      coreCpuMicrosPerRequest: core.cpuMicros,
      coldStart: cold,
      tokenizer,
    };
    print(report);
    const errors = Object.values(scenarios).flatMap((scenario) =>
      Object.values(scenario as Record<string, Record<string, { errors: number }>>).flatMap(
        (byTarget) => Object.values(byTarget).map((result) => result.errors),
      ),
    );
    if (errors.some((count) => count > 0)) {
      console.error("\n  errors: the run is not valid (the targets allow none)");
      process.exitCode = 1;
    }
    mkdirSync("bench/results", { recursive: true });
    const file = `bench/results/perf-${report.date.replace(/[:.]/g, "-")}.json`;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\n  written to ${file}`);
  } finally {
    for (const child of [sluice, proxy, upstream]) await stopChild(child);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the report is printed field by field.
function print(report: any): void {
  const ms = (n: number | null) => (n === null ? "—" : n.toFixed(2));
  const line = (label: string, ...cells: string[]) =>
    console.log(`  ${label.padEnd(38)}${cells.map((c) => c.padStart(10)).join("")}`);
  console.log(
    `\nsluice performance, ${report.cpus} × ${report.cpuModel}, Node ${report.node}, upstream answering in ${report.upstreamLatencyMs} ms\n`,
  );
  for (const kind of ["plain", "stream"]) {
    const one = report.scenarios[kind].concurrency1;
    const many = report.scenarios[kind][`concurrency${LOAD_CONCURRENCY}`];
    console.log(`${kind === "plain" ? "Non-streamed" : "Streamed"} chat`);
    line("", "direct", "proxy", "sluice");
    line("c=1  p50 latency (ms)", ms(one.direct.p50), ms(one.proxy.p50), ms(one.sluice.p50));
    line("c=1  p99 latency (ms)", ms(one.direct.p99), ms(one.proxy.p99), ms(one.sluice.p99));
    line(
      "c=1  p50 added over direct (ms)",
      "",
      ms(one.proxy.p50 - one.direct.p50),
      ms(one.sluice.p50 - one.direct.p50),
    );
    line(
      "c=1  p99 added over direct (ms)",
      "",
      ms(one.proxy.p99 - one.direct.p99),
      ms(one.sluice.p99 - one.direct.p99),
    );
    if (kind === "stream") {
      line(
        "c=1  p50 first byte (ms)",
        ms(one.direct.ttfbP50),
        ms(one.proxy.ttfbP50),
        ms(one.sluice.ttfbP50),
      );
      line(
        "c=1  first byte later than direct (ms)",
        "",
        ms(one.proxy.ttfbP50 - one.direct.ttfbP50),
        ms(one.sluice.ttfbP50 - one.direct.ttfbP50),
      );
    }
    line(
      `c=${LOAD_CONCURRENCY} requests/s`,
      many.direct.requestsPerSecond.toFixed(0),
      many.proxy.requestsPerSecond.toFixed(0),
      many.sluice.requestsPerSecond.toFixed(0),
    );
    line(
      `c=${LOAD_CONCURRENCY} p50 / p99 latency (ms)`,
      `${many.direct.p50}/${many.direct.p99}`,
      `${many.proxy.p50}/${many.proxy.p99}`,
      `${many.sluice.p50}/${many.sluice.p99}`,
    );
    line(
      `c=${LOAD_CONCURRENCY} CPU per request (ms)`,
      "",
      ms(many.proxy.cpuMsPerRequest),
      ms(many.sluice.cpuMsPerRequest),
    );
    line(
      `c=${LOAD_CONCURRENCY} sluice CPU / proxy CPU`,
      "",
      "",
      (many.sluice.cpuMsPerRequest / many.proxy.cpuMsPerRequest).toFixed(2),
    );
    line(
      `c=${LOAD_CONCURRENCY} DynamoDB Local CPU per request (ms)`,
      "",
      "",
      ms(many.sluice.dynamoCpuMsPerRequest),
    );
    line(
      "errors (c=1 + c=32)",
      String(one.direct.errors + many.direct.errors),
      String(one.proxy.errors + many.proxy.errors),
      String(one.sluice.errors + many.sluice.errors),
    );
    console.log("");
  }
  console.log("DynamoDB calls per request, warm");
  line("", "before 1st", "after last");
  for (const kind of ["plain", "stream"]) {
    line(
      kind,
      ms(report.dynamoCalls[kind].beforeFirstByte),
      ms(report.dynamoCalls[kind].afterLastByte),
    );
  }
  console.log(
    `\nDynamoDB capacity units per call, warm, as DynamoDB Local reports them (indexes included;`,
  );
  console.log(
    `the rollups add up the log lines a ${"batching window"} gathers, as the stream's Lambda does on AWS)`,
  );
  line("", "writes", "reads", "rollups w.", "total w.");
  for (const [kind, label] of [
    ["stream", "streamed, unlimited key"],
    ["streamLimitedKey", "streamed, limited key"],
    ["plain", "plain, unlimited key"],
    ["streamAt32", `streamed, ${LOAD_CONCURRENCY} at once on one key`],
  ]) {
    const units = report.capacityUnits[kind as string];
    line(
      label as string,
      ms(units.requestWrites),
      ms(units.requestReads),
      ms(units.rollupWrites),
      ms(units.requestWrites + units.rollupWrites),
    );
  }
  console.log(
    `\nsluice's own logic per request, I/O stubbed in-process: ${report.coreCpuMicrosPerRequest.toFixed(0)} µs of CPU`,
  );
  console.log(
    `\nCold start (import in a fresh process; an empty script takes ${report.coldStart.emptyScriptMs.toFixed(0)} ms)`,
  );
  line("", "KB min.", "import ms");
  for (const [name, bundle] of Object.entries(report.coldStart.functions) as [
    string,
    { bytes: number; importMs: number },
  ][]) {
    line(name, (bundle.bytes / 1024).toFixed(1), `+${bundle.importMs.toFixed(0)}`);
  }
  printTokenizerCost(report.tokenizer);
}

// `npm run bench -- --share` (or `--memory 128,1769`): the API function at Lambda's CPU share.
let share: ShareOptions | undefined;
try {
  share = shareOptions(process.argv.slice(2));
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
(share ? import("./lambda-share").then((bench) => bench.benchAtLambdaShare(share)) : main()).catch(
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
