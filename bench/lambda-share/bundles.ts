/**
 * What the share bench runs in its cgroups, built with esbuild: the API function's bundle as
 * `cdk synth` builds it (the stack's bundling settings, infra/constructs/function-defaults.ts),
 * and the runtime shim, the bare proxy and the design's floor as plain node scripts (no tsx in
 * those processes).
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

export interface ShareBundles {
  /** The API function's bundle, as a file URL for import(). */
  api: string;
  /** The design's floor in the function's place (lambda-share/floor.ts), the same way. */
  floor: string;
  shim: string;
  proxy: string;
}

export async function buildShareBundles(outDir: string): Promise<ShareBundles> {
  // The CDK is imported only here: it takes about a second.
  const { nodeFunctionDefaults } = await import("../../infra/constructs/function-defaults");
  const cdk = nodeFunctionDefaults.bundling;
  const api = join(outDir, "api", "index.mjs");
  // As NodejsFunction runs esbuild for an ESM function (the entry as infra/constructs/api.ts names it).
  await build({
    entryPoints: [resolve("functions/api/handler.ts")],
    outfile: api,
    bundle: true,
    platform: "node",
    format: "esm",
    mainFields: ["module", "main"],
    target: cdk.target,
    // BENCH_MINIFY=0 keeps the names, for reading a CPU profile (BENCH_CPU_PROFILE).
    minify: process.env.BENCH_MINIFY === "0" ? false : cdk.minify,
    sourcemap: cdk.sourceMap,
    banner: { js: cdk.banner },
    external: cdk.externalModules,
    logLevel: "warning",
  });
  const script = async (entry: string, name: string) => {
    const outfile = join(outDir, `${name}.mjs`);
    await build({
      entryPoints: [resolve(entry)],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      banner: { js: cdk.banner },
      external: ["@aws-sdk/*"],
      logLevel: "warning",
    });
    return outfile;
  };
  return {
    api: pathToFileURL(api).href,
    floor: pathToFileURL(await script("bench/lambda-share/floor.ts", "floor")).href,
    shim: await script("bench/lambda-share/shim.ts", "shim"),
    proxy: await script("bench/perf/proxy.ts", "proxy"),
  };
}
