/**
 * The API function's entry (functions/api/entry.ts), bundled into `entry.mjs` beside the
 * function's bundle: the function's handler, which imports the bundle (compiled whole at a
 * small share of a vCPU). Built by the API's afterBundling hook (infra/constructs/api.ts) and,
 * the same way, by the share bench (bench/lambda-share/bundles.ts).
 *
 *   npx tsx infra/api-entry.ts <outDir>
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildSync } from "esbuild";
import { nodeFunctionDefaults } from "./constructs/function-defaults";

/** Writes `<outDir>/entry.mjs`; returns its path. */
export function buildApiEntry(outDir: string): string {
  const outfile = join(outDir, "entry.mjs");
  buildSync({
    entryPoints: [resolve("functions/api/entry.ts")],
    outfile,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: nodeFunctionDefaults.bundling.target,
    logLevel: "warning",
  });
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [outDir] = process.argv.slice(2);
  if (!outDir) throw new Error("usage: tsx infra/api-entry.ts <outDir>");
  buildApiEntry(outDir);
}
