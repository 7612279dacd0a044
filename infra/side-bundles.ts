/**
 * Dependencies a function ships beside its bundle, not in it, because only some calls need
 * them and their code would be read on every cold start: each is left out of the function's
 * bundle (`externalModules`), and each subpath sluice imports is bundled by esbuild into one
 * minified file under `<outDir>/node_modules/<name>/` (and each file of data it reads made
 * there), with a package.json whose exports name just those files (and the package's
 * licence). Node then finds them as the package itself when
 * the code `await import()`s it: no `npm install` at synth, no Docker.
 *
 * A new lazy dependency is one more entry in SIDE_BUNDLES (test/unit/lazy-imports.test.ts checks
 * that the API reaches each only through `import()`).
 *
 *   npx tsx infra/side-bundles.ts <outDir> [name…]   (every side bundle unless named)
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildSync } from "esbuild";
import { ByteRanks } from "../shared/billing/byte-pair";
import { tiktokenFile } from "../shared/billing/tokens";

export interface SideBundle {
  /** The package, as the code imports it. */
  name: string;
  /** The subpaths the code imports ("." for the package itself), each bundled into its own file. */
  subpaths: readonly string[];
  /** Files the code reads (data, found by `require.resolve` in the package), made at synth. */
  files?: readonly { path: string; make(): Uint8Array }[];
}

export const TOKENIZER_ENCODINGS = ["o200k_base", "cl100k_base"] as const;

/**
 * shared/billing/tokens.ts loads an encoding when a call must be estimated: its split pattern
 * (gpt-tokenizer's code) and its ranks, a table of megabytes that shared/billing/byte-pair.ts
 * makes here from OpenAI's `.tiktoken` file (as gpt-tokenizer ships it) and reads as it is.
 * gpt-tokenizer's own encodings, the ranks as megabytes of JavaScript, are not shipped.
 */
export const TOKENIZER: SideBundle = {
  name: "gpt-tokenizer",
  subpaths: ["./encodingParams/constants"],
  files: TOKENIZER_ENCODINGS.map((encoding) => ({
    path: `./data/${encoding}.ranks`,
    make: () => ByteRanks.fromTiktoken(readFileSync(tiktokenFile(encoding))).toTable(),
  })),
};

/** shared/auth/oauth/oidc.ts imports it for an OpenID Connect sign-in (with jose, oauth4webapi). */
export const OPENID_CLIENT: SideBundle = { name: "openid-client", subpaths: ["."] };

/** shared/mail/smtp.ts imports it for the first mail sent over SMTP (stream e-mail, issue 22 E). */
export const NODEMAILER: SideBundle = { name: "nodemailer", subpaths: ["."] };

export const SIDE_BUNDLES: readonly SideBundle[] = [
  TOKENIZER,
  // stream D (sign-in)
  OPENID_CLIENT,
  // stream e-mail
  NODEMAILER,
  // stream C (payments): shared/payments/stripe.ts, for a Stripe checkout or webhook only.
  { name: "stripe", subpaths: ["."] },
];

/** The names to leave out of a function's bundle. */
export const sideBundleNames = (): string[] => SIDE_BUNDLES.map((b) => b.name);

/** The module specifiers a side bundle answers: `name` and `name/<subpath>`. */
export const specifiers = (bundle: SideBundle): string[] =>
  bundle.subpaths.map((s) => (s === "." ? bundle.name : `${bundle.name}/${s.slice(2)}`));

/** The file a subpath is bundled into, relative to the package's directory. */
const fileOf = (subpath: string) => (subpath === "." ? "./index.js" : `${subpath}.js`);

/**
 * The package's folder: found from its entry point upwards, since a package whose `exports`
 * do not list `./package.json` (stripe) cannot resolve it by name.
 */
function packageDirOf(name: string, require: NodeJS.Require): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // Not exported: from the entry point up to the folder node_modules names it by.
  }
  let dir = dirname(require.resolve(name));
  for (;;) {
    const file = join(dir, "package.json");
    if (
      existsSync(file) &&
      (JSON.parse(readFileSync(file, "utf8")) as { name?: string }).name === name
    )
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json for ${name}`);
    dir = parent;
  }
}

/** Writes one side bundle under `outDir`; returns the package's directory. */
export function writeSideBundle(bundle: SideBundle, outDir: string): string {
  const require = createRequire(import.meta.url);
  const source = packageDirOf(bundle.name, require);
  const { version } = JSON.parse(readFileSync(join(source, "package.json"), "utf8")) as {
    version: string;
  };
  const target = join(resolve(outDir), "node_modules", bundle.name);
  mkdirSync(target, { recursive: true });
  const exports: Record<string, string> = {};
  const names = specifiers(bundle);
  bundle.subpaths.forEach((subpath, i) => {
    buildSync({
      // A package specifier: esbuild resolves it through the package's exports, as Node would.
      entryPoints: [names[i] as string],
      outfile: join(target, fileOf(subpath)),
      bundle: true,
      minify: true,
      format: "esm",
      platform: "node",
      target: "node22",
      // As in the functions' bundles: CommonJS code bundled into ESM still calls `require`.
      banner: {
        js: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
      },
      logLevel: "error",
    });
    exports[subpath] = fileOf(subpath);
  });
  for (const file of bundle.files ?? []) {
    mkdirSync(dirname(join(target, file.path)), { recursive: true });
    writeFileSync(join(target, file.path), file.make());
    exports[file.path] = file.path;
  }
  const manifest = { name: bundle.name, version, type: "module", exports };
  writeFileSync(join(target, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const file of readdirSync(source).filter((f) => /^licen[cs]e/i.test(f)))
    copyFileSync(join(source, file), join(target, file));
  return target;
}

/** Writes every side bundle under `outDir`, or those named in `only`. */
export function writeSideBundles(outDir: string, only?: readonly string[]): void {
  for (const bundle of SIDE_BUNDLES)
    if (!only?.length || only.includes(bundle.name)) writeSideBundle(bundle, outDir);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [outDir, ...only] = process.argv.slice(2);
  if (!outDir) throw new Error("usage: tsx infra/side-bundles.ts <outDir> [name…]");
  writeSideBundles(outDir, only);
}
