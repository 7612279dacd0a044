/**
 * What the share bench runs in its cgroups, built with esbuild: the API function's bundle and
 * its entry as `cdk synth` builds them (the stack's bundling settings,
 * infra/constructs/function-defaults.ts and api.ts),
 * and the runtime shim, the bare proxy and the design's floor as plain node scripts (no tsx in
 * those processes).
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

export interface ShareBundles {
  /** The API function's entry (its handler's file, which imports the bundle), as a file URL. */
  api: string;
  /** The design's floor in the function's place (lambda-share/floor.ts), the same way. */
  floor: string;
  shim: string;
  proxy: string;
}

/**
 * The API function's code as `cdk synth` builds it, in `dir`: the bundle (index.mjs, as
 * NodejsFunction runs esbuild for an ESM function, the entry as infra/constructs/api.ts names
 * it) and the entry that imports it (entry.mjs, as the API's afterBundling hook builds it).
 * Returns the entry's file URL. `minify`: false keeps the names, for reading a CPU profile.
 */
export async function buildApiFunction(dir: string, minify = true): Promise<string> {
  // The CDK is imported only here: it takes about a second.
  const { nodeFunctionDefaults } = await import("../../infra/constructs/function-defaults");
  const cdk = nodeFunctionDefaults.bundling;
  await build({
    entryPoints: [resolve("functions/api/handler.ts")],
    outfile: join(dir, "index.mjs"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: cdk.target,
    mainFields: ["module", "main"],
    minify: minify && cdk.minify,
    sourcemap: cdk.sourceMap,
    banner: { js: cdk.banner },
    external: cdk.externalModules,
    logLevel: "warning",
  });
  const { buildApiEntry } = await import("../../infra/api-entry");
  return pathToFileURL(buildApiEntry(dir)).href;
}

export async function buildShareBundles(outDir: string): Promise<ShareBundles> {
  const { nodeFunctionDefaults } = await import("../../infra/constructs/function-defaults");
  const script = async (entry: string, name: string) => {
    const outfile = join(outDir, `${name}.mjs`);
    await build({
      entryPoints: [resolve(entry)],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      banner: { js: nodeFunctionDefaults.bundling.banner },
      external: ["@aws-sdk/*"],
      logLevel: "warning",
    });
    return outfile;
  };
  return {
    // BENCH_MINIFY=0 keeps the names, for reading a CPU profile (BENCH_CPU_PROFILE).
    api: await buildApiFunction(join(outDir, "api"), process.env.BENCH_MINIFY !== "0"),
    floor: pathToFileURL(await script("bench/lambda-share/floor.ts", "floor")).href,
    shim: await script("bench/lambda-share/shim.ts", "shim"),
    proxy: await script("bench/perf/proxy.ts", "proxy"),
  };
}
