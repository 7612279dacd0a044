/**
 * What the real tokenizer costs a call that must be estimated (shared/billing/tokens.ts), with
 * gpt-tokenizer's own encoding modules (the ranks as JavaScript, what sluice loaded before
 * shared/billing/byte-pair.ts) as the baseline, measured in the same run:
 *
 *   first count  a fresh process loading an encoding and counting a word, minus an empty
 *                script: what the first estimate of a Lambda instance pays. sluice's as the
 *                functions ship it (tokens.ts bundled, the side bundle beside it:
 *                infra/side-bundles.ts)
 *   memory       a fresh process under Lambda's 128 MB node flags that imports the API's
 *                bundle, loads o200k_base and counts a ~1,000-token text: its peak resident
 *                memory (VmHWM) and what it keeps after a full collection, against the bundle
 *                alone (Linux only; BENCH_NODE=lambda runs it on Lambda's Node.js 22)
 *   cpu          sluice's own CPU per request, in-process (test/fixtures/core.ts), for a chat
 *                call whose upstream reports usage and the same call without it (a ~1,000-token
 *                conversation and a ~200-token reply): the difference is the estimate
 *   bundle       the API function's bundle and the tokenizer's files beside it: sizes, and the
 *                bundle's import (every cold start)
 *
 * Run alone with `npx tsx bench/perf/tokenizer.ts`; `npm run bench` includes it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TOKENIZER, TOKENIZER_ENCODINGS, writeSideBundle } from "../../infra/side-bundles";
import { inProcessApi } from "../../test/fixtures/core";
import { benchNode, lambdaNodeFlags } from "../lambda-share/lambda";
import { percentile } from "../stats";
import { buildLambdaBundle, bundleEnv, medianRun, runtimeStandIn } from "./cold-start";

const outDir = resolve("bench/.build");

type Encoding = (typeof TOKENIZER_ENCODINGS)[number];

/** A figure for sluice's tokenizer and for gpt-tokenizer's encoding module. */
interface Pair {
  sluice: number;
  library: number;
}

export interface TokenizerCost {
  /** ms for a fresh process to load each encoding and count a word. */
  firstCountMs: Record<Encoding, Pair>;
  /** MB: the API's bundle alone, and with o200k_base loaded; undefined without /proc. */
  memoryMb?: { bundle: number; peak: Pair; kept: Pair };
  /** µs of CPU per request, with usage reported and estimated, and their difference. */
  cpuMicros: { withUsage: number; estimated: number; estimate: number };
  bundle: {
    /** The API bundle as shipped, and the tokenizer's files beside it. */
    bytes: number;
    tokenizerBytes: number;
    importMs: number;
  };
}

const MEMORY_RUNS = 5;

export async function tokenizerCost(requests = 2_000): Promise<TokenizerCost> {
  const dir = join(outDir, "tokenizer");
  rmSync(dir, { recursive: true, force: true });
  const tokenizer = writeSideBundle(TOKENIZER, dir);
  // tokens.ts as a function's bundle has it, beside the side bundle it reads.
  const tokens = join(dir, "tokens.mjs");
  buildLambdaBundle("shared/billing/tokens.ts", tokens);
  const library = (encoding: Encoding) =>
    pathToFileURL(createRequire(import.meta.url).resolve(`gpt-tokenizer/encoding/${encoding}`))
      .href;
  const load = {
    sluice: (encoding: Encoding, text: string) =>
      `(await import(${JSON.stringify(pathToFileURL(tokens).href)})).countTokens(${text}, ${JSON.stringify(encoding === "o200k_base" ? "gpt-4o" : "gpt-4")})`,
    library: (encoding: Encoding, text: string) =>
      `(await import(${JSON.stringify(library(encoding))})).countTokens(${text}, { disallowedSpecial: new Set() })`,
  };
  const empty = medianRun("");
  const firstCount = (encoding: Encoding): Pair => ({
    sluice: medianRun(`${load.sluice(encoding, '"hello"')};`) - empty,
    library: medianRun(`${load.library(encoding, '"hello"')};`) - empty,
  });
  const firstCountMs = {
    o200k_base: firstCount("o200k_base"),
    cl100k_base: firstCount("cl100k_base"),
  };
  const shipped = join(dir, "api.mjs");
  buildLambdaBundle("functions/api/handler.ts", shipped);
  const importMs =
    medianRun(`await import(${JSON.stringify(pathToFileURL(shipped).href)});`) - empty;
  const bytesUnder = (folder: string): number =>
    readdirSync(folder, { withFileTypes: true }).reduce(
      (sum, entry) =>
        sum +
        (entry.isDirectory()
          ? bytesUnder(join(folder, entry.name))
          : statSync(join(folder, entry.name)).size),
      0,
    );
  return {
    firstCountMs,
    memoryMb: existsSync("/proc/self/status")
      ? await memory(dir, shipped, (text) => ({
          sluice: load.sluice("o200k_base", text),
          library: load.library("o200k_base", text),
        }))
      : undefined,
    cpuMicros: await cpuPerRequest(requests),
    bundle: {
      bytes: statSync(shipped).size,
      tokenizerBytes: bytesUnder(tokenizer),
      importMs,
    },
  };
}

/**
 * Resident memory of a process under Lambda's 128 MB node flags holding the API's bundle
 * (`api`), and after it has counted a ~1,000-token text with each tokenizer (`count`: the code
 * counting the text named `text`): the median of MEMORY_RUNS fresh processes, taking turns.
 */
async function memory(
  dir: string,
  api: string,
  count: (text: string) => Record<keyof Pair, string>,
): Promise<NonNullable<TokenizerCost["memoryMb"]>> {
  const node = await benchNode();
  const run = (counting: string) => {
    const file = join(dir, "memory-probe.mjs");
    writeFileSync(
      file,
      `import { readFileSync } from "node:fs";
      const mb = (field) => Number(readFileSync("/proc/self/status", "utf8").split("\\n").find((l) => l.startsWith(field + ":")).replace(/[^0-9]/g, "")) / 1024;
      await import(${JSON.stringify(pathToFileURL(api).href)});
      const text = ${JSON.stringify(REPLY.repeat(5))};
      ${counting};
      const peak = mb("VmHWM");
      globalThis.gc(); globalThis.gc();
      console.log(JSON.stringify({ peak, kept: mb("VmRSS") }));`,
    );
    const out = spawnSync(node, [...lambdaNodeFlags(128), "--import", runtimeStandIn, file], {
      // The memory size, as Lambda sets it: the API chooses its compilers by it (at 128 MB,
      // V8's baseline compiler only).
      env: { ...bundleEnv, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "128" },
      encoding: "utf8",
    });
    if (out.status !== 0) throw new Error(`the memory probe failed: ${out.stderr}`);
    return JSON.parse(out.stdout.trim().split("\n").at(-1) as string) as {
      peak: number;
      kept: number;
    };
  };
  const runs = {
    bundle: [] as number[],
    peak: { sluice: [] as number[], library: [] as number[] },
    kept: { sluice: [] as number[], library: [] as number[] },
  };
  for (let i = 0; i < MEMORY_RUNS; i++) {
    runs.bundle.push(run("").peak);
    for (const who of ["sluice", "library"] as const) {
      const { peak, kept } = run(`await ${count("text")[who]}`);
      runs.peak[who].push(peak);
      runs.kept[who].push(kept);
    }
  }
  const median = (values: number[]) => percentile(values, 50);
  return {
    bundle: median(runs.bundle),
    peak: { sluice: median(runs.peak.sluice), library: median(runs.peak.library) },
    kept: { sluice: median(runs.kept.sluice), library: median(runs.kept.library) },
  };
}

/** A ~1,000-token conversation, and a ~200-token reply. */
const TURNS = [
  "The committee asked finance to revise the forecast by Friday, to model a second scenario in which fuel prices stay high through the summer, and to explain why the margin on the northern routes narrowed.",
  "Revenue grew eleven percent while shipping costs rose faster than anyone had forecast in January; the new warehouse has not yet paid for itself.",
];
const MESSAGES = Array.from({ length: 24 }, (_, i) => ({
  role: i % 2 === 0 ? "user" : "assistant",
  content: TURNS[i % 2],
}));
const REPLY = Array.from({ length: 5 }, (_, i) => TURNS[i % 2]).join(" ");

/**
 * CPU per request on each path: both warmed up first, then measured in alternating rounds (so
 * that neither gains from running later), the median round of each.
 */
async function cpuPerRequest(requests: number): Promise<TokenizerCost["cpuMicros"]> {
  let usage = true;
  const api = inProcessApi(["gpt-4o"], () => ({
    json: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o",
      choices: [
        { index: 0, message: { role: "assistant", content: REPLY }, finish_reason: "stop" },
      ],
      ...(usage && { usage: { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200 } }),
    },
  }));
  const body = { model: "gpt-4o", max_tokens: 300, messages: MESSAGES };
  const round = async (withUsage: boolean, count: number) => {
    usage = withUsage;
    const before = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      const response = await api.call("/v1/chat/completions", body);
      if (response.status !== 200) throw new Error(`the core answered ${response.status}`);
      api.logLines.length = 0;
    }
    const used = process.cpuUsage(before);
    return (used.user + used.system) / count;
  };
  const ROUNDS = 10;
  await round(true, requests / ROUNDS);
  await round(false, requests / ROUNDS);
  const reported: number[] = [];
  const estimated: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    reported.push(await round(true, requests / ROUNDS));
    estimated.push(await round(false, requests / ROUNDS));
  }
  const withUsage = percentile(reported, 50);
  const withEstimate = percentile(estimated, 50);
  return { withUsage, estimated: withEstimate, estimate: withEstimate - withUsage };
}

export function printTokenizerCost(cost: TokenizerCost): void {
  const line = (label: string, value: string) => console.log(`  ${label.padEnd(58)}${value}`);
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  const pair = ({ sluice, library }: Pair, digits = 0) =>
    `${sluice.toFixed(digits)} (gpt-tokenizer's ${library.toFixed(digits)}, ${(sluice / library).toFixed(2)}×)`;
  console.log(
    "\nThe tokenizer, for calls whose upstream reports no usage (shared/billing/tokens.ts)",
  );
  for (const encoding of TOKENIZER_ENCODINGS)
    line(`first count in a process, ${encoding} (ms)`, `+${pair(cost.firstCountMs[encoding])}`);
  if (cost.memoryMb) {
    line("API bundle imported, 128 MB node flags: peak (MB)", cost.memoryMb.bundle.toFixed(1));
    line("  + o200k_base, a 1,000-token count: peak (MB)", pair(cost.memoryMb.peak, 1));
    line("  + o200k_base: kept after a full collection (MB)", pair(cost.memoryMb.kept, 1));
  }
  line("CPU per request, usage reported (µs)", cost.cpuMicros.withUsage.toFixed(0));
  line("CPU per request, estimated (µs)", cost.cpuMicros.estimated.toFixed(0));
  line(
    "  the estimate: 1,000-token prompt, 200-token reply (µs)",
    cost.cpuMicros.estimate.toFixed(0),
  );
  line(
    "API bundle as shipped + the tokenizer beside it (KB)",
    `${kb(cost.bundle.bytes)} + ${kb(cost.bundle.tokenizerBytes)}`,
  );
  line("API bundle import (ms)", `+${cost.bundle.importMs.toFixed(0)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  printTokenizerCost(await tokenizerCost());
}
