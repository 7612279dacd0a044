/**
 * Builds the console: the app (Preact, uPlot) bundled by esbuild into content-hashed files
 * under `assets/`, and an `index.html` that loads them (no inline script or style, so a
 * strict Content-Security-Policy holds).
 *
 *   npx tsx console/build.ts <outDir>
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, "src", "main.tsx");

export interface ConsoleBuild {
  /** Paths of the files written, relative to outDir with `/` separators (index.html included). */
  files: string[];
}

export async function buildConsole(options: {
  outDir: string;
  minify?: boolean;
}): Promise<ConsoleBuild> {
  const outDir = resolve(options.outDir);
  await rm(join(outDir, "assets"), { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: entry },
    outdir: outDir,
    entryNames: "assets/[name]-[hash]",
    chunkNames: "assets/[name]-[hash]",
    assetNames: "assets/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    minify: options.minify ?? true,
    charset: "utf8",
    jsx: "automatic",
    jsxImportSource: "preact",
    tsconfig: join(here, "tsconfig.json"),
    metafile: true,
    logLevel: "silent",
  });
  const outputs = Object.entries(result.metafile.outputs);
  const main = outputs.find(
    ([, output]) => output.entryPoint && resolve(output.entryPoint) === entry,
  );
  if (!main) throw new Error("esbuild wrote no output for console/src/main.tsx");
  const [script, { cssBundle }] = main;
  if (!cssBundle) throw new Error("esbuild wrote no stylesheet for the console");
  const url = (path: string) => relative(outDir, resolve(path)).split(sep).join("/");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>sluice</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${url(cssBundle)}">
<script type="module" src="${url(script)}"></script>
</head>
<body>
<noscript>This console needs JavaScript. 此控制台需要启用 JavaScript。</noscript>
<div id="app"></div>
</body>
</html>
`;
  await writeFile(join(outDir, "index.html"), html);
  return { files: [...outputs.map(([path]) => url(path)), "index.html"].sort() };
}

async function main(outDir: string | undefined, options: string[]) {
  if (!outDir) {
    console.error("usage: npx tsx console/build.ts <outDir> [--quiet]");
    process.exitCode = 2;
    return;
  }
  const { files } = await buildConsole({ outDir });
  // The CDK stack builds it with every synth: the sizes are for a person who asked.
  if (options.includes("--quiet")) return;
  let js = 0;
  let jsGzip = 0;
  for (const file of files) {
    const bytes = await readFile(join(outDir, file));
    const gzip = gzipSync(bytes, { level: 9 }).length;
    if (file.endsWith(".js")) {
      js += bytes.length;
      jsGzip += gzip;
    }
    console.log(`${file.padEnd(40)} ${String(bytes.length).padStart(8)} B  gzip ${gzip} B`);
  }
  console.log(`${"JavaScript in total".padEnd(40)} ${String(js).padStart(8)} B  gzip ${jsGzip} B`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv[2], process.argv.slice(3));
}
