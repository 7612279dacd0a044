/**
 * What the real tokenizer costs a call that must be estimated (shared/billing/tokens.ts):
 *
 *   first count  a fresh process importing an encoding as the functions ship it
 *                (infra/side-bundles.ts) and counting a word, minus an empty script: what
 *                the first estimate of a Lambda instance pays
 *   cpu          sluice's own CPU per request, in-process (test/fixtures/core.ts), for a chat
 *                call whose upstream reports usage and the same call without it (a ~1,000-token
 *                conversation and a ~200-token reply): the difference is the estimate
 *   bundle       the API function's bundle as shipped (the tokenizer beside it) and with the
 *                tokenizer inside it: sizes, and the time to import each (every cold start)
 *
 * Run alone with `npx tsx bench/perf/tokenizer.ts`; `npm run bench` includes it.
 */
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TOKENIZER, TOKENIZER_ENCODINGS, writeSideBundle } from "../../infra/side-bundles";
import { inProcessApi } from "../../test/fixtures/core";
import { percentile } from "../stats";
import { buildLambdaBundle, medianRun } from "./cold-start";

const outDir = resolve("bench/.build");

type Encoding = (typeof TOKENIZER_ENCODINGS)[number];

export interface TokenizerCost {
  /** ms for a fresh process to import each encoding and count a word. */
  firstCountMs: Record<Encoding, number>;
  /** µs of CPU per request, with usage reported and estimated, and their difference. */
  cpuMicros: { withUsage: number; estimated: number; estimate: number };
  bundle: {
    /** The API bundle as shipped, and the tokenizer's files beside it. */
    bytes: number;
    tokenizerBytes: number;
    importMs: number;
    /** The API bundle with the tokenizer inside it. */
    inlineBytes: number;
    inlineImportMs: number;
  };
}

export async function tokenizerCost(requests = 2_000): Promise<TokenizerCost> {
  const tokenizer = writeSideBundle(TOKENIZER, join(outDir, "tokenizer"));
  const empty = medianRun("");
  const firstCount = (encoding: Encoding) => {
    const file = pathToFileURL(join(tokenizer, "encoding", `${encoding}.js`)).href;
    return medianRun(`(await import(${JSON.stringify(file)})).countTokens("hello");`) - empty;
  };
  const firstCountMs = {
    o200k_base: firstCount("o200k_base"),
    cl100k_base: firstCount("cl100k_base"),
  };
  const shipped = join(outDir, "api.mjs");
  const inline = join(outDir, "api-tokenizer-inside.mjs");
  buildLambdaBundle("functions/api/handler.ts", shipped);
  buildLambdaBundle("functions/api/handler.ts", inline, true);
  const importMs = (file: string) =>
    medianRun(`await import(${JSON.stringify(pathToFileURL(file).href)});`) - empty;
  const bytesUnder = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (sum, entry) =>
        sum +
        (entry.isDirectory()
          ? bytesUnder(join(dir, entry.name))
          : statSync(join(dir, entry.name)).size),
      0,
    );
  return {
    firstCountMs,
    cpuMicros: await cpuPerRequest(requests),
    bundle: {
      bytes: statSync(shipped).size,
      tokenizerBytes: bytesUnder(tokenizer),
      importMs: importMs(shipped),
      inlineBytes: statSync(inline).size,
      inlineImportMs: importMs(inline),
    },
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
  console.log(
    "\nThe tokenizer, for calls whose upstream reports no usage (shared/billing/tokens.ts)",
  );
  for (const encoding of TOKENIZER_ENCODINGS)
    line(
      `first count in a process, ${encoding} (ms)`,
      `+${cost.firstCountMs[encoding].toFixed(0)}`,
    );
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
  line("API bundle with the tokenizer inside it (KB)", kb(cost.bundle.inlineBytes));
  line(
    "API bundle import, as shipped / tokenizer inside (ms)",
    `+${cost.bundle.importMs.toFixed(0)} / +${cost.bundle.inlineImportMs.toFixed(0)}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  printTokenizerCost(await tokenizerCost());
}
