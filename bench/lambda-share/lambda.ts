/**
 * What a Lambda execution environment of a given memory size gives the function's process,
 * as the share bench reproduces it: a share of a vCPU (cgroup CPU bandwidth) and the V8 heap
 * limits the Node.js runtime starts node with.
 */
import { readFileSync } from "node:fs";
import type { Child } from "../perf/child";
import { LAMBDA_MB_PER_VCPU } from "../prices";

/** The sizes measured when none are asked for: the default and a full core. */
export const DEFAULT_MEMORY_SIZES = [128, LAMBDA_MB_PER_VCPU];

/** Lambda's memory sizes, in MB. */
const MIN_MEMORY_MB = 128;
const MAX_MEMORY_MB = 10_240;

/** The CFS period of the bench's cgroups: Lambda's throttling interval is 20 ms. */
export const CFS_PERIOD_US = 20_000;

/** CPU time per CFS period at a memory size's share: a full vCPU at 1,769 MB, in proportion. */
export function cpuQuotaMicros(memoryMb: number, periodUs = CFS_PERIOD_US): number {
  return Math.round((periodUs * memoryMb) / LAMBDA_MB_PER_VCPU);
}

/**
 * node's flags in a Lambda Node.js runtime (its /var/runtime/bootstrap): a tenth of the
 * memory for V8's young generation (half of it per semi-space), the rest for the old.
 */
export function lambdaNodeFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    "--expose-gc",
    "--max-http-header-size=81920",
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}

export interface ShareOptions {
  memorySizes: number[];
}

/**
 * `--share` (the default sizes) or `--memory 128,256` / `--memory=128,256` among the bench's
 * arguments; undefined when neither is there (the bench's usual run).
 */
export function shareOptions(argv: readonly string[]): ShareOptions | undefined {
  const at = argv.findIndex((arg) => arg === "--memory" || arg.startsWith("--memory="));
  if (at === -1)
    return argv.includes("--share") ? { memorySizes: DEFAULT_MEMORY_SIZES } : undefined;
  const arg = argv[at] as string;
  const list = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[at + 1];
  if (!list) throw new Error("--memory needs a list of memory sizes in MB, such as 128,1769");
  const memorySizes = list.split(",").map((item) => Number(item.trim()));
  for (const [i, size] of memorySizes.entries()) {
    if (!Number.isInteger(size) || size < MIN_MEMORY_MB || size > MAX_MEMORY_MB)
      throw new Error(
        `--memory: "${list.split(",")[i]}" is not a Lambda memory size (a whole number of MB from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB})`,
      );
  }
  return { memorySizes };
}

/**
 * The node binary the bench runs functions' bundles on: BENCH_NODE=lambda, the Node.js Lambda
 * runs (22, from npm, cached beside the test suite's CLIs; BENCH_NODE is set to its path for
 * the processes that read it); BENCH_NODE=<path>, that binary; by default the bench's own.
 */
export async function benchNode(): Promise<string> {
  if (process.env.BENCH_NODE === "lambda") {
    const { lambdaNode } = await import("../../test/fixtures/cli-cache");
    process.env.BENCH_NODE = (await lambdaNode()).binary;
  }
  return process.env.BENCH_NODE ?? process.execPath;
}

/** The most resident memory a process has held so far, in MB (/proc/<pid>/status, VmHWM). */
export function peakResidentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/^VmHWM:\s+(\d+) kB$/m)?.[1]) / 1024;
}

/** How long an invocation may take to report its end before the run is given up. */
const INVOCATION_TIMEOUT_MS = 60_000;

/**
 * The reports of a process's invocation ends (BENCH_REPORT_INVOCATIONS=1, see invocations.ts),
 * taken in order.
 */
export function invocationEnds(child: Child): () => Promise<number> {
  const ended: number[] = [];
  let waiting: ((at: number) => void) | undefined;
  child.process.on("message", (message: { invocationEnded?: number }) => {
    if (message.invocationEnded === undefined) return;
    if (waiting) waiting(message.invocationEnded);
    else ended.push(message.invocationEnded);
  });
  return () => {
    const at = ended.shift();
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("an invocation did not end within a minute")),
        INVOCATION_TIMEOUT_MS,
      );
      waiting = (at) => {
        waiting = undefined;
        clearTimeout(timer);
        resolve(at);
      };
    });
  };
}
