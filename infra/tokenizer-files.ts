/**
 * The tokenizer a function ships beside its bundle, not in it: `gpt-tokenizer`'s two encodings
 * (o200k_base, cl100k_base), each bundled by esbuild into one minified file under
 * `<outDir>/node_modules/gpt-tokenizer/`, with a package.json whose exports name just them (and
 * the package's licence). shared/billing/tokens.ts imports them only when a call must be
 * estimated: in the bundle, their megabytes of ranks would be read on every cold start
 * (`npm run bench` measures both).
 *
 *   npx tsx infra/tokenizer-files.ts <outDir>
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildSync } from "esbuild";

export const TOKENIZER_ENCODINGS = ["o200k_base", "cl100k_base"] as const;

/** Writes the tokenizer's files under `outDir`; returns the package's directory. */
export function writeTokenizerFiles(outDir: string): string {
  const require = createRequire(import.meta.url);
  const source = dirname(require.resolve("gpt-tokenizer/package.json"));
  const { version } = JSON.parse(readFileSync(join(source, "package.json"), "utf8")) as {
    version: string;
  };
  const target = join(resolve(outDir), "node_modules", "gpt-tokenizer");
  mkdirSync(join(target, "encoding"), { recursive: true });
  const exports: Record<string, string> = {};
  for (const encoding of TOKENIZER_ENCODINGS) {
    buildSync({
      entryPoints: [join(source, "esm", "encoding", `${encoding}.js`)],
      outfile: join(target, "encoding", `${encoding}.js`),
      bundle: true,
      minify: true,
      format: "esm",
      platform: "node",
      target: "node22",
      logLevel: "error",
    });
    exports[`./encoding/${encoding}`] = `./encoding/${encoding}.js`;
  }
  const manifest = { name: "gpt-tokenizer", version, type: "module", exports };
  writeFileSync(join(target, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(join(source, "LICENSE"), join(target, "LICENSE"));
  return target;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const outDir = process.argv[2];
  if (!outDir) throw new Error("usage: tsx infra/tokenizer-files.ts <outDir>");
  writeTokenizerFiles(outDir);
}
