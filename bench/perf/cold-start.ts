/**
 * Cold start: each Lambda bundle built as the CDK stack builds it (esbuild, minified ESM, the
 * AWS SDK left to the runtime), its size, and the time to import it in a fresh Node process
 * against an empty script, medians of several runs.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildSync } from "esbuild";
import { sideBundleNames } from "../../infra/side-bundles";
import { percentile } from "../stats";

const FUNCTIONS = {
  api: "functions/api/handler.ts",
  worker: "functions/batch-worker/handler.ts",
  janitor: "functions/janitor/handler.ts",
};
const RUNS = 9;
const outDir = resolve("bench/.build");

/** The Lambda runtime defines `awslambda` before loading a streaming handler. */
export const runtimeStandIn = `data:text/javascript,${encodeURIComponent(
  "globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };",
)}`;

export interface BundleReport {
  bytes: number;
  importMs: number;
}

export function coldStart(): { emptyScriptMs: number; functions: Record<string, BundleReport> } {
  mkdirSync(outDir, { recursive: true });
  const emptyScriptMs = medianRun("");
  const functions: Record<string, BundleReport> = {};
  for (const [name, entry] of Object.entries(FUNCTIONS)) {
    const outfile = join(outDir, `${name}.mjs`);
    buildLambdaBundle(entry, outfile);
    functions[name] = {
      bytes: statSync(outfile).size,
      importMs:
        medianRun(`await import(${JSON.stringify(pathToFileURL(outfile).href)});`) - emptyScriptMs,
    };
  }
  return { emptyScriptMs, functions };
}

/**
 * Bundles `entry` as the CDK stack bundles a function: minified ESM, the AWS SDK left out, the
 * lazy dependencies too (they ship beside the bundle: infra/side-bundles.ts).
 */
export function buildLambdaBundle(entry: string, outfile: string): void {
  buildSync({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node22",
    external: ["@aws-sdk/*", "@smithy/*", ...sideBundleNames()],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: "error",
  });
}

/** What a function's bundle needs at import to stand up without AWS. */
export const bundleEnv = {
  PATH: process.env.PATH,
  AWS_REGION: "us-east-1",
  SLUICE_TABLE: "bench",
  SLUICE_LOG_TABLE: "bench-log",
  SLUICE_BUCKET: "bench",
  SLUICE_BATCH_QUEUE_URL: "http://127.0.0.1:1/queue",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
};

/** Median wall time of a fresh Node process running `code` as a module. */
export function medianRun(code: string): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const run = spawnSync(
      process.execPath,
      ["--import", runtimeStandIn, "--input-type=module", "-e", code],
      { env: bundleEnv },
    );
    if (run.status !== 0) throw new Error(`importing failed: ${run.stderr.toString()}`);
    times.push(performance.now() - start);
  }
  return percentile(times, 50);
}
