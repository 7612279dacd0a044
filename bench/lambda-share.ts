/**
 * `npm run bench -- --share` (or `--memory 128,256,512,1769`): the API function at the CPU
 * share Lambda gives a memory size, against a bare proxy at the same share, in one run.
 *
 * For each size, two cgroups get the same CPU bandwidth: the size's share of a vCPU in every
 * 20 ms period. One holds the API function's bundle, built as `cdk synth` builds it, in a
 * runtime shim (lambda-share/shim.ts) that imports it and invokes its streaming handler as a
 * function URL does; the other a bare node:http proxy (perf/proxy.ts). Both run with the
 * node flags of Lambda's Node.js runtime for that size (its heap limits). Everything else runs
 * outside the groups, as it runs outside a Lambda environment: the upstream (the demo upstream
 * answering in 20 ms), DynamoDB Local and the local stack around it, the client, the load.
 *
 *   cold start  fresh processes of each, taking turns: start to listening, the bundle's import,
 *               the first call's first byte and its invocation
 *   warm        one call at a time, as on-demand Lambda gives an environment one invocation at
 *               a time: each call is sent once the previous invocation has ended, the two
 *               targets taking turns call by call. Streamed first byte and non-streamed
 *               response p50/p99 at the client; each call's invocation, from sending the request
 *               until the handler's promise settles (after-response work included)
 *   load        at a full core or more: CPU per request at concurrency 32 (autocannon)
 *
 * Results are printed per size and written to bench/results/lambda-share-*.json.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildShareBundles, type ShareBundles } from "./lambda-share/bundles";
import {
  CgroupsUnavailable,
  type CpuController,
  type CpuGroup,
  cpuController,
} from "./lambda-share/cgroups";
import {
  benchNode,
  CFS_PERIOD_US,
  cpuQuotaMicros,
  invocationEnds,
  lambdaNodeFlags,
  peakResidentMb,
  type ShareOptions,
} from "./lambda-share/lambda";
import { type Child, startChild, stopChild } from "./perf/child";
import { autocannon } from "./perf/load";
import { type Timing, timedRequest } from "./perf/timed-request";
import { LAMBDA_MB_PER_VCPU } from "./prices";
import { percentile } from "./stats";

const CALLS = Number(process.env.BENCH_REQUESTS ?? 500);
/**
 * BENCH_WARMUP: calls of each kind before the measured ones (default 50). V8 keeps optimising
 * sluice's code for hundreds of calls (its CPU per call falls by about a third over the first
 * 300 at a full core); a long warm-up measures an environment that has served a while.
 */
const WARMUP = process.env.BENCH_WARMUP ? Number(process.env.BENCH_WARMUP) : Math.min(50, CALLS);
const COLD_STARTS = Math.max(1, Number(process.env.BENCH_COLD_STARTS ?? 5));
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/**
 * Seconds of the same load before the measured ones, not measured. The first thousands of
 * calls at concurrency 32 cost sluice up to twice what later ones do (V8 still optimising its
 * code, DynamoDB Local's JVM its own: in 4 s windows of one run, 1.71, 1.51, 1.23, then
 * 0.84–0.93 ms a call from the 13th second on; the proxy's settles within 4 s), and measured
 * from the start the figure moved by 40 % from run to run.
 */
const LOAD_WARMUP_SECONDS = Number(process.env.BENCH_LOAD_WARMUP ?? 15);
const LOAD_CONCURRENCY = 32;
const IDLE_SECONDS = 5;
const INIT_AT_FULL_CORE = process.env.BENCH_INIT_AT === "full";
/**
 * BENCH_TARGET=floor: the design's floor (lambda-share/floor.ts) runs where the API function
 * does, and its figures are printed in sluice's column.
 */
const FLOOR = process.env.BENCH_TARGET === "floor";
/**
 * BENCH_BASELINE=<an API bundle>: that bundle (say, a copy of bench/.build/lambda-share/api/
 * made before a change, kept at the same depth so that its imports resolve: its entry.mjs, or
 * the index.mjs of a build from before the entry) runs in
 * the proxy's place, in the same shim and environment as sluice: an A/B of two builds, call by
 * call in one run, whose ratios the machine's noise touches far less than two runs'.
 */
const BASELINE = process.env.BENCH_BASELINE
  ? pathToFileURL(resolve(process.env.BENCH_BASELINE)).href
  : undefined;
const UPSTREAM_LATENCY_MS = 20;
/**
 * BENCH_GAP_MS: a pause before each warm call. A process's work left over from its last call
 * (the compiler's and the collector's threads) shares its group's CPU with the next call; with
 * the targets taking turns, the next comes one proxy call (about 23 ms) after the last ended.
 */
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 0);
const FUNCTION_NODE_FLAGS = (process.env.BENCH_FUNCTION_NODE_FLAGS ?? "")
  .split(" ")
  .filter(Boolean);
const NAMES = ["proxy", "sluice"] as const;
type Name = (typeof NAMES)[number];

/** One target's process in its cgroup: a Lambda execution environment of one size. */
interface Environment {
  name: Name;
  url: string;
  key?: string;
  child: Child;
  agent: Agent;
  /** The next invocation's end (ms since the epoch), as the process reports it. */
  nextEnd(): Promise<number>;
}

interface Call extends Timing {
  /** From sending the request until the invocation ended. */
  invocation: number;
}

/** What is running, for the cleanup however the run ends (Ctrl-C included). */
const running = { children: new Set<Child>(), groups: new Set<CpuGroup>() };

export async function benchAtLambdaShare(options: ShareOptions): Promise<void> {
  let cgroups: CpuController;
  try {
    cgroups = cpuController();
  } catch (err) {
    if (!(err instanceof CgroupsUnavailable)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      interrupted = true;
      void cleanUp().finally(() => process.exit(130));
    });
  try {
    // The bundles' processes run on BENCH_NODE (Lambda's Node.js with "lambda").
    await benchNode();
    const bundles = await buildShareBundles(resolve("bench/.build/lambda-share"));
    const upstream = await started("bench/perf/upstream.ts", {
      UPSTREAM_LATENCY_MS: String(UPSTREAM_LATENCY_MS),
    });
    // The local stack (its own API function stays idle): DynamoDB Local, the rollups, the key.
    const stack = await started("bench/perf/sluice.ts", {
      UPSTREAM_URL: String(upstream.info.url),
    });
    const outside = {
      bundles,
      upstreamUrl: String(upstream.info.url),
      key: String(stack.info.key),
      functionEnv: JSON.parse(String(stack.info.env)) as Record<string, string>,
    };
    const results = [];
    let errors = 0;
    for (const memoryMb of options.memorySizes) {
      const result = await measureAt(memoryMb, cgroups, outside);
      print(result);
      results.push(result);
      errors += result.errors.proxy + result.errors.sluice;
    }
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      cgroup: `v${cgroups.version}`,
      upstreamLatencyMs: UPSTREAM_LATENCY_MS,
      calls: CALLS,
      coldStarts: COLD_STARTS,
      loadSeconds: LOAD_SECONDS,
      loadWarmupSeconds: LOAD_WARMUP_SECONDS,
      initAtFullCore: INIT_AT_FULL_CORE,
      /** What ran in sluice's place: the API function, or the design's floor. */
      target: FLOOR ? "floor" : "sluice",
      results,
    };
    mkdirSync("bench/results", { recursive: true });
    const file = `bench/results/lambda-share-${report.date.replace(/[:.]/g, "-")}.json`;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`written to ${file}`);
    if (errors > 0) {
      console.error("errors: the run is not valid (the targets allow none)");
      process.exitCode = 1;
    }
  } catch (err) {
    // Interrupted: the processes it was waiting on were stopped; the signal's handler exits.
    if (!interrupted) throw err;
  } finally {
    await cleanUp();
  }
}

/** The version of the Node.js the bundles run on (BENCH_NODE). */
function nodeVersion(): string {
  const node = process.env.BENCH_NODE;
  return node ? execFileSync(node, ["--version"], { encoding: "utf8" }).trim() : process.version;
}

/** A process of the bench outside the cgroups, from source. */
async function started(file: string, env: Record<string, string>): Promise<Child> {
  const child = await startChild(file, { env: { ...process.env, ...env } });
  running.children.add(child);
  return child;
}

async function cleanUp(): Promise<void> {
  for (const child of running.children) {
    child.process.kill("SIGKILL");
    running.children.delete(child);
  }
  for (const group of running.groups) {
    await group.remove().catch((err) => console.error(`${group.path}: ${err.message}`));
    running.groups.delete(group);
  }
}

async function measureAt(
  memoryMb: number,
  cgroups: CpuController,
  outside: {
    bundles: ShareBundles;
    upstreamUrl: string;
    key: string;
    functionEnv: Record<string, string>;
  },
) {
  const quotaUs = cpuQuotaMicros(memoryMb);
  const nodeFlags = lambdaNodeFlags(memoryMb);
  const groups = Object.fromEntries(
    NAMES.map((name) => {
      const group = cgroups.group(
        `sluice-bench-${process.pid}-${memoryMb}-${name}`,
        quotaUs,
        CFS_PERIOD_US,
      );
      running.groups.add(group);
      return [name, group];
    }),
  ) as Record<Name, CpuGroup>;
  console.log(
    `\nAt ${memoryMb} MB${INIT_AT_FULL_CORE ? " (initialisation at a full core)" : ""}${FLOOR ? ", the design's floor in sluice's column" : ""}: ${(memoryMb / LAMBDA_MB_PER_VCPU).toFixed(3)} of a vCPU (${quotaUs} µs per ${CFS_PERIOD_US} µs), node ${nodeVersion()} ${nodeFlags.join(" ")}`,
  );

  // Lambda's environment for the function (no NODE_OPTIONS, as the stack sets none for the API:
  // BENCH_NODE_OPTIONS tries some, e.g. --enable-source-maps); the proxy gets the same
  // variables that concern node.
  const lambdaEnv = {
    NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? "",
    AWS_LAMBDA_FUNCTION_NAME: "sluice-api",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    BENCH_REPORT_INVOCATIONS: "1",
    // A CPU profile of each cold start, written by the shim (lambda-share/shim.ts).
    ...(process.env.BENCH_CPU_PROFILE && { BENCH_CPU_PROFILE: process.env.BENCH_CPU_PROFILE }),
    // BENCH_GC=1: each process counts its garbage collections and their pauses.
    ...(process.env.BENCH_GC && { BENCH_GC: process.env.BENCH_GC }),
    ...(process.env.BENCH_HEAP_PROFILE && { BENCH_HEAP_PROFILE: process.env.BENCH_HEAP_PROFILE }),
  };
  const start = async (name: Name): Promise<Environment & { listeningMs: number }> => {
    const startedAt = performance.now();
    const asFunction = name === "sluice" || BASELINE !== undefined;
    const child = await startChild(asFunction ? outside.bundles.shim : outside.bundles.proxy, {
      env: asFunction
        ? {
            ...outside.functionEnv,
            ...lambdaEnv,
            // At concurrency 32 a call's hold outlives its response until the settlement is
            // written, and under load more than the default 50 are in flight: 429s, whose CPU
            // is not a call's.
            SLUICE_USER_CONCURRENCY: "0",
            // BENCH_FUNCTION_ENV='{"NAME":"value"}': the function's environment changed, to
            // try a setting (e.g. SLUICE_LOG_LEVEL) against the same proxy, or against the
            // baseline (which keeps the environment unchanged).
            ...(name === "sluice" &&
              (JSON.parse(process.env.BENCH_FUNCTION_ENV ?? "{}") as Record<string, string>)),
            BENCH_API_BUNDLE:
              name === "proxy" && BASELINE
                ? BASELINE
                : FLOOR
                  ? outside.bundles.floor
                  : outside.bundles.api,
            ...(FLOOR && { UPSTREAM_URL: outside.upstreamUrl }),
          }
        : { PATH: process.env.PATH, ...lambdaEnv, UPSTREAM_URL: outside.upstreamUrl },
      // BENCH_INIT_AT=full: the process starts and imports outside its group, which it
      // joins once it listens — Lambda has been measured to run initialisation faster than
      // the memory's share (README, Cost); by default the share throttles start-up too.
      // BENCH_FUNCTION_NODE_FLAGS: more node or V8 flags for sluice's side only, e.g. to try
      // what an AWS_LAMBDA_EXEC_WRAPPER could set, or "--log-deopt --logfile=…" to read why
      // code is thrown away.
      bundle: {
        nodeFlags: name === "sluice" ? [...nodeFlags, ...FUNCTION_NODE_FLAGS] : nodeFlags,
        cgroupProcs: INIT_AT_FULL_CORE ? "/dev/null" : groups[name].procs,
      },
    });
    if (INIT_AT_FULL_CORE) writeFileSync(groups[name].procs, String(child.process.pid));
    const listeningMs = performance.now() - startedAt;
    running.children.add(child);
    return {
      name,
      url: String(child.info.url),
      key: asFunction ? outside.key : undefined,
      child,
      agent: new Agent({ keepAlive: true, maxSockets: 1 }),
      nextEnd: invocationEnds(child),
      listeningMs,
    };
  };
  const stop = async (environment: Environment) => {
    environment.agent.destroy();
    await stopChild(environment.child);
    running.children.delete(environment.child);
  };

  console.log(`  ${COLD_STARTS} cold starts of each…`);
  const cold = { proxy: [] as ColdStart[], sluice: [] as ColdStart[] };
  const warm = {} as Record<Name, Environment>;
  for (let i = 0; i < COLD_STARTS; i++) {
    for (const name of NAMES) {
      const environment = await start(name);
      const first = await call(environment, true);
      cold[name].push({
        listeningMs: environment.listeningMs,
        importMs: Number(environment.child.info.importMs ?? 0),
        firstByteMs: first.ttfb,
        invocationMs: first.invocation,
        ok: first.ok,
      });
      // The last ones stay, warm, for the rest.
      if (i < COLD_STARTS - 1) await stop(environment);
      else warm[name] = environment;
    }
  }

  console.log(`  ${CALLS} calls of each kind to each, one at a time (after ${WARMUP} to warm up)…`);
  const periodsBefore = { proxy: groups.proxy.periods(), sluice: groups.sluice.periods() };
  const calls = {} as Record<"stream" | "plain", Record<Name, Call[]>>;
  // CPU per call, one at a time: what an on-demand environment spends on each (its share of a
  // vCPU is spent on this and nothing else), after-response work included.
  const cpuPerCall = {} as Record<"stream" | "plain", Record<Name, number>>;
  // And the system calls per call that read and write (sockets, pipes): each send of a request,
  // a response or a log line is one, and on a virtual machine a costly one.
  const syscallsPerCall = {} as Record<"stream" | "plain", Record<Name, SyscallCounts>>;
  const gcPerCall = {} as Record<"stream" | "plain", Record<Name, GcCounts>>;
  // What stays reachable per call: the live heap before the first warm call and after the last
  // (a call that leaves a few kilobytes behind runs a 128 MB function out of memory).
  const liveHeap = (name: Name) => warm[name].child.ask<number>("liveHeap");
  let heapBefore: Record<Name, number> | undefined;
  for (const stream of [true, false]) {
    for (let i = 0; i < WARMUP; i++) for (const name of NAMES) await call(warm[name], stream);
    heapBefore ??= { proxy: await liveHeap("proxy"), sluice: await liveHeap("sluice") };
    const made: Record<Name, Call[]> = { proxy: [], sluice: [] };
    await warm.sluice.child.ask("profile", "warm", true);
    const before = { proxy: await cpuMs(warm.proxy), sluice: await cpuMs(warm.sluice) };
    const ioBefore = { proxy: syscalls(warm.proxy), sluice: syscalls(warm.sluice) };
    const gcBefore = { proxy: await gcOf(warm.proxy), sluice: await gcOf(warm.sluice) };
    for (let i = 0; i < CALLS; i++)
      for (const name of NAMES) {
        if (GAP_MS) await new Promise((resolve) => setTimeout(resolve, GAP_MS));
        made[name].push(await call(warm[name], stream));
      }
    calls[stream ? "stream" : "plain"] = made;
    cpuPerCall[stream ? "stream" : "plain"] = {
      proxy: ((await cpuMs(warm.proxy)) - before.proxy) / CALLS,
      sluice: ((await cpuMs(warm.sluice)) - before.sluice) / CALLS,
    };
    const perCall = (name: Name) => {
      const now = syscalls(warm[name]);
      return {
        reads: (now.reads - ioBefore[name].reads) / CALLS,
        writes: (now.writes - ioBefore[name].writes) / CALLS,
      };
    };
    const gcPer = async (name: Name) => {
      const now = await gcOf(warm[name]);
      const per = (kind: "minor" | "major") => ({
        count: (now[kind].count - gcBefore[name][kind].count) / CALLS,
        ms: (now[kind].ms - gcBefore[name][kind].ms) / CALLS,
      });
      return { minor: per("minor"), major: per("major") };
    };
    gcPerCall[stream ? "stream" : "plain"] = {
      proxy: await gcPer("proxy"),
      sluice: await gcPer("sluice"),
    };
    syscallsPerCall[stream ? "stream" : "plain"] = {
      proxy: perCall("proxy"),
      sluice: perCall("sluice"),
    };
    await warm.sluice.child.ask("profile", "warm", false);
  }
  // The heap still reachable after the warm calls, per 100 of them (both kinds), in KB.
  const keptKbPer100Calls = {} as Record<Name, number>;
  for (const name of NAMES)
    keptKbPer100Calls[name] =
      ((((await liveHeap(name)) - (heapBefore?.[name] ?? 0)) / (2 * CALLS)) * 100) / 1024;
  // The most memory each process has held, after the import and the warm calls (before any
  // load): what the function's memory size must fit.
  const peakRssMb = Object.fromEntries(
    NAMES.map((name) => [name, peakResidentMb(warm[name].child.process.pid as number)]),
  ) as Record<Name, number>;
  // And what each spends with no call at all (timers, the garbage collector), per second.
  const idleBefore = { proxy: await cpuMs(warm.proxy), sluice: await cpuMs(warm.sluice) };
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
  const idleCpuMsPerSecond = {
    proxy: ((await cpuMs(warm.proxy)) - idleBefore.proxy) / IDLE_SECONDS,
    sluice: ((await cpuMs(warm.sluice)) - idleBefore.sluice) / IDLE_SECONDS,
  };
  const periods = Object.fromEntries(
    NAMES.map((name) => {
      const now = groups[name].periods();
      const periods = now.periods - periodsBefore[name].periods;
      return [name, periods ? (now.throttled - periodsBefore[name].throttled) / periods : 0];
    }),
  ) as Record<Name, number>;

  let load: Record<"stream" | "plain", Record<Name, Load>> | undefined;
  if (memoryMb >= LAMBDA_MB_PER_VCPU) {
    console.log(
      `  ${LOAD_SECONDS} s at concurrency ${LOAD_CONCURRENCY} to each, per kind, after ${LOAD_WARMUP_SECONDS} s not measured…`,
    );
    load = { stream: {} as Record<Name, Load>, plain: {} as Record<Name, Load> };
    for (const name of NAMES) await warm[name].child.ask("reportInvocations", false);
    for (const stream of [false, true])
      for (const name of NAMES)
        load[stream ? "stream" : "plain"][name] = await loaded(warm[name], stream);
  }
  // Invocations that failed after their answer was sent count as errors too.
  const failed = {} as Record<Name, number>;
  for (const name of NAMES) failed[name] = await warm[name].child.ask<number>("failedInvocations");
  for (const name of NAMES) await stop(warm[name]);
  for (const name of NAMES) {
    await groups[name].remove();
    running.groups.delete(groups[name]);
  }

  const errorsOf = (name: Name) =>
    cold[name].filter((c) => !c.ok).length +
    calls.stream[name].filter((c) => !c.ok).length +
    calls.plain[name].filter((c) => !c.ok).length +
    failed[name] +
    (load ? load.stream[name].errors + load.plain[name].errors : 0);
  return {
    memoryMb,
    quotaUs,
    periodUs: CFS_PERIOD_US,
    nodeFlags,
    cold: summariseCold(cold),
    stream: summariseCalls(calls.stream),
    plain: summariseCalls(calls.plain),
    cpuPerCall,
    idleCpuMsPerSecond,
    syscallsPerCall,
    gcPerCall,
    keptKbPer100Calls,
    peakRssMb,
    load,
    throttledShareOfPeriods: periods,
    errors: { proxy: errorsOf("proxy"), sluice: errorsOf("sluice") },
  };
}

type Result = Awaited<ReturnType<typeof measureAt>>;

interface ColdStart {
  listeningMs: number;
  importMs: number;
  firstByteMs: number;
  invocationMs: number;
  ok: boolean;
}

interface Load {
  requestsPerSecond: number;
  cpuMsPerRequest: number;
  errors: number;
  statuses: Record<string, number>;
}

/** One call, and the end of its invocation: the environment is free for the next one only then. */
async function call(environment: Environment, stream: boolean): Promise<Call> {
  const timing = await timedRequest(environment, stream, environment.agent);
  if (timing.status === 0) throw new Error(`${environment.name} did not answer`);
  const endedAt = await environment.nextEnd();
  return { ...timing, invocation: endedAt - timing.sentAt };
}

interface GcCounts {
  minor: { count: number; ms: number };
  major: { count: number; ms: number };
}

/** A process's garbage collections so far (counted with BENCH_GC=1, else zeros). */
function gcOf(environment: Environment): Promise<GcCounts> {
  return environment.child.ask<GcCounts>("gc");
}

interface SyscallCounts {
  reads: number;
  writes: number;
}

/** A process's read and write system calls so far (/proc/<pid>/io: syscr, syscw). */
function syscalls(environment: Environment): SyscallCounts {
  const io = readFileSync(`/proc/${environment.child.process.pid}/io`, "utf8");
  const field = (name: string) => Number(io.match(new RegExp(`^${name}: (\\d+)$`, "m"))?.[1]);
  return { reads: field("syscr"), writes: field("syscw") };
}

/** The CPU time a target's process has used so far, in ms. */
async function cpuMs(environment: Environment): Promise<number> {
  const usage = await environment.child.ask<NodeJS.CpuUsage>("cpu");
  return (usage.user + usage.system) / 1000;
}

async function loaded(environment: Environment, stream: boolean): Promise<Load> {
  const cpu = () => cpuMs(environment);
  const load = (seconds: number) =>
    autocannon({
      url: environment.url,
      key: environment.key,
      stream,
      concurrency: LOAD_CONCURRENCY,
      seconds,
    });
  const warmup = LOAD_WARMUP_SECONDS > 0 ? await load(LOAD_WARMUP_SECONDS) : undefined;
  // BENCH_CPU_PROFILE: sluice's load phase profiled too (the proxy has no such question).
  if (environment.name === "sluice") await environment.child.ask("profile", "load", true);
  const before = await cpu();
  const result = await load(LOAD_SECONDS);
  const after = await cpu();
  if (environment.name === "sluice") await environment.child.ask("profile", "load", false);
  return {
    requestsPerSecond: result.requestsPerSecond,
    cpuMsPerRequest: (after - before) / result.requests,
    // The warm-up's answers count too: an error there makes the run invalid as well.
    errors: result.errors + (warmup?.errors ?? 0),
    statuses: sumCounts(result.statuses, warmup?.statuses ?? {}),
  };
}

function sumCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum = { ...a };
  for (const [key, count] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + count;
  return sum;
}

const p = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });

function summariseCalls(calls: Record<Name, Call[]>) {
  const of = (made: Call[]) => ({
    firstByte: p(made.map((c) => c.ttfb)),
    response: p(made.map((c) => c.total)),
    invocation: p(made.map((c) => c.invocation)),
    invocationOverResponseP50: percentile(
      made.map((c) => c.invocation / c.total),
      50,
    ),
  });
  return { proxy: of(calls.proxy), sluice: of(calls.sluice) };
}

function summariseCold(cold: Record<Name, ColdStart[]>) {
  const median = (starts: ColdStart[], field: keyof Omit<ColdStart, "ok">) =>
    percentile(
      starts.map((start) => start[field]),
      50,
    );
  const of = (starts: ColdStart[]) => ({
    listeningMs: median(starts, "listeningMs"),
    importMs: median(starts, "importMs"),
    firstByteMs: median(starts, "firstByteMs"),
    startToFirstByteMs: percentile(
      starts.map((start) => start.listeningMs + start.firstByteMs),
      50,
    ),
    invocationMs: median(starts, "invocationMs"),
  });
  return { proxy: of(cold.proxy), sluice: of(cold.sluice) };
}

function print(result: Result): void {
  const ms = (n: number) => n.toFixed(1);
  const row = (label: string, proxy: number, sluice: number, digits = 1) =>
    console.log(
      `  ${label.padEnd(42)}${proxy.toFixed(digits).padStart(9)}${sluice.toFixed(digits).padStart(9)}${`${sluice >= proxy ? "+" : ""}${(sluice - proxy).toFixed(digits)}`.padStart(11)}${`${(sluice / proxy).toFixed(2)}×`.padStart(9)}`,
    );
  const { stream, plain, cold, load } = result;
  console.log(
    `\n  ${`At ${result.memoryMb} MB's share`.padEnd(42)}${(BASELINE ? "baseline" : "proxy").padStart(9)}${"sluice".padStart(9)}${"difference".padStart(11)}${"ratio".padStart(9)}`,
  );
  row("streamed, first byte p50 (ms)", stream.proxy.firstByte.p50, stream.sluice.firstByte.p50);
  row("streamed, first byte p99 (ms)", stream.proxy.firstByte.p99, stream.sluice.firstByte.p99);
  row("non-streamed, response p50 (ms)", plain.proxy.response.p50, plain.sluice.response.p50);
  row("non-streamed, response p99 (ms)", plain.proxy.response.p99, plain.sluice.response.p99);
  for (const [kind, calls] of [
    ["streamed", stream],
    ["non-streamed", plain],
  ] as const) {
    row(`${kind}, invocation p50 (ms)`, calls.proxy.invocation.p50, calls.sluice.invocation.p50);
    row(`${kind}, invocation p99 (ms)`, calls.proxy.invocation.p99, calls.sluice.invocation.p99);
    row(
      `${kind}, invocation / response, p50`,
      calls.proxy.invocationOverResponseP50,
      calls.sluice.invocationOverResponseP50,
      2,
    );
  }
  row(
    "streamed, CPU per call, one at a time (ms)",
    result.cpuPerCall.stream.proxy,
    result.cpuPerCall.stream.sluice,
    2,
  );
  row(
    "non-streamed, CPU per call, one at a time (ms)",
    result.cpuPerCall.plain.proxy,
    result.cpuPerCall.plain.sluice,
    2,
  );
  for (const kind of ["stream", "plain"] as const) {
    const counts = result.syscallsPerCall[kind];
    const label = kind === "stream" ? "streamed" : "non-streamed";
    row(`${label}, write syscalls per call`, counts.proxy.writes, counts.sluice.writes);
    row(`${label}, read syscalls per call`, counts.proxy.reads, counts.sluice.reads);
  }
  row(
    "idle, CPU per second (ms)",
    result.idleCpuMsPerSecond.proxy,
    result.idleCpuMsPerSecond.sluice,
    2,
  );
  row(
    "heap still reachable per 100 calls (KB)",
    result.keptKbPer100Calls.proxy,
    result.keptKbPer100Calls.sluice,
  );
  row(
    "peak resident memory, one call at a time (MB)",
    result.peakRssMb.proxy,
    result.peakRssMb.sluice,
  );
  if (process.env.BENCH_GC === "1") {
    for (const kind of ["stream", "plain"] as const) {
      const gc = result.gcPerCall[kind];
      const label = kind === "stream" ? "streamed" : "non-streamed";
      row(`${label}, minor GC pause per call (ms)`, gc.proxy.minor.ms, gc.sluice.minor.ms, 2);
      row(
        `${label}, major GCs per 100 calls`,
        gc.proxy.major.count * 100,
        gc.sluice.major.count * 100,
        2,
      );
      row(`${label}, major GC pause per call (ms)`, gc.proxy.major.ms, gc.sluice.major.ms, 2);
    }
  }
  row("cold: start to listening (ms)", cold.proxy.listeningMs, cold.sluice.listeningMs);
  console.log(
    `  ${"cold:   of which the bundle's import (ms)".padEnd(51)}${ms(cold.sluice.importMs).padStart(9)}`,
  );
  row("cold: first call's first byte (ms)", cold.proxy.firstByteMs, cold.sluice.firstByteMs);
  row(
    "cold: start to first call's first byte (ms)",
    cold.proxy.startToFirstByteMs,
    cold.sluice.startToFirstByteMs,
  );
  row("cold: first call's invocation (ms)", cold.proxy.invocationMs, cold.sluice.invocationMs);
  if (load) {
    row(
      `c=${LOAD_CONCURRENCY}, CPU per request, non-streamed (ms)`,
      load.plain.proxy.cpuMsPerRequest,
      load.plain.sluice.cpuMsPerRequest,
      2,
    );
    row(
      `c=${LOAD_CONCURRENCY}, CPU per request, streamed (ms)`,
      load.stream.proxy.cpuMsPerRequest,
      load.stream.sluice.cpuMsPerRequest,
      2,
    );
    row(
      `c=${LOAD_CONCURRENCY}, requests/s, non-streamed`,
      load.plain.proxy.requestsPerSecond,
      load.plain.sluice.requestsPerSecond,
      0,
    );
    row(
      `c=${LOAD_CONCURRENCY}, requests/s, streamed`,
      load.stream.proxy.requestsPerSecond,
      load.stream.sluice.requestsPerSecond,
      0,
    );
  } else {
    console.log(
      `  (CPU per request at concurrency ${LOAD_CONCURRENCY}: measured at a full core, ${LAMBDA_MB_PER_VCPU} MB)`,
    );
  }
  const share = result.throttledShareOfPeriods;
  console.log(
    `  ${"periods throttled, one call at a time (%)".padEnd(42)}${(share.proxy * 100).toFixed(1).padStart(9)}${(share.sluice * 100).toFixed(1).padStart(9)}`,
  );
  console.log(
    `  ${"errors".padEnd(42)}${String(result.errors.proxy).padStart(9)}${String(result.errors.sluice).padStart(9)}\n`,
  );
}
