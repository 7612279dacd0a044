/**
 * The lazy dependencies (infra/side-bundles.ts) stay out of the API's bundle and are found
 * beside it. The API is bundled as the stack bundles it (those packages and the AWS SDK left
 * out), and esbuild's metafile says how each package is reached: only by `import()`, and only
 * at subpaths its side bundle ships. Then the side bundles are written to a fresh folder, and a
 * Node process there imports them by their package names, as the deployed bundle does.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import {
  SIDE_BUNDLES,
  sideBundleNames,
  specifiers,
  TOKENIZER,
  TOKENIZER_ENCODINGS,
  writeSideBundles,
} from "../../infra/side-bundles";
import { ByteRanks } from "../../shared/billing/byte-pair";
import { tiktokenFile } from "../../shared/billing/tokens";

const belongsTo = (path: string, name: string) => path === name || path.startsWith(`${name}/`);

/** A module of sluice's bundled as the stack bundles a function (its lazy dependencies left out). */
const bundled = (entry: string) =>
  build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node22",
    external: ["@aws-sdk/*", ...sideBundleNames()],
    metafile: true,
    write: false,
    logLevel: "error",
  });

/** The API's bundle and how it imports what it leaves out. */
const api = await bundled("functions/api/handler.ts");
const apiText = api.outputFiles[0]?.text ?? "";

/** The side bundles, written as a function's asset has them. */
const dir = mkdtempSync(join(tmpdir(), "sluice-side-bundles-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeSideBundles(dir);
const packageDir = (name: string) => join(dir, "node_modules", name);
const imports = Object.values(api.metafile.inputs).flatMap((input) => input.imports);

describe("the API's bundle leaves each lazy dependency out", () => {
  it.each(SIDE_BUNDLES.map((b) => [b.name, b] as const))(
    "reaches %s only by import(), at subpaths its side bundle ships",
    (name, bundle) => {
      const reached = imports.filter((i) => belongsTo(i.path, name));
      // The mechanism is proven on what the API really imports: a package it never imports
      // has no business in the list.
      expect(reached.length).toBeGreaterThan(0);
      for (const i of reached) {
        expect(i.external).toBe(true);
        expect(i.kind).toBe("dynamic-import");
        expect(specifiers(bundle)).toContain(i.path);
      }
      // None of the package's own files went into the bundle.
      const bundled = Object.keys(api.metafile.inputs);
      expect(bundled.filter((path) => path.includes(`node_modules/${name}/`))).toEqual([]);
    },
  );

  it("keeps the tokenizer's ranks out of the bundle's text", () => {
    for (const specifier of specifiers(TOKENIZER)) expect(apiText).toContain(specifier);
    // One encoding's ranks, as shipped beside the bundle, are larger than the whole API:
    // megabytes, of which no stretch is in the API's text.
    const o200k = readFileSync(
      join(packageDir(TOKENIZER.name), "data", "o200k_base.ranks"),
      "latin1",
    );
    expect(o200k.length).toBeGreaterThan(2 * apiText.length);
    for (const at of [0.25, 0.5, 0.75]) {
      const start = Math.floor(o200k.length * at);
      expect(apiText).not.toContain(o200k.slice(start, start + 64));
    }
  });
});

describe("the side bundles, beside a bundle", () => {
  /** Runs `code` as a module in `dir`, as a fresh Node process: it resolves from `dir` only. */
  const run = (code: string) => {
    const file = join(dir, `probe-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(file, code);
    return spawnSync(process.execPath, [file], { cwd: dir, encoding: "utf8" });
  };

  it("are each a package naming itself, exporting just the subpaths sluice imports and the files it reads", () => {
    for (const bundle of SIDE_BUNDLES) {
      const target = packageDir(bundle.name);
      const manifest = JSON.parse(readFileSync(join(target, "package.json"), "utf8"));
      expect(manifest.name).toBe(bundle.name);
      expect(manifest.type).toBe("module");
      expect(Object.keys(manifest.exports)).toEqual([
        ...bundle.subpaths,
        ...(bundle.files ?? []).map((file) => file.path),
      ]);
      expect(readdirSync(target).some((f) => /^licen[cs]e/i.test(f))).toBe(true);
    }
  });

  it("answer the tokenizer with the package's own split patterns and ranks, which count as the package does", async () => {
    const sentence =
      "Holds are released by the janitor once their deadline has passed — 期限が過ぎた保留はジャニターが解放します。";
    // The code as shipped (tokens.ts in the API's bundle) finds them from the bundle's folder.
    const tokens = await bundled("shared/billing/tokens.ts");
    writeFileSync(join(dir, "tokens.mjs"), tokens.outputFiles[0]?.text ?? "");
    const probe = run(
      `import { createRequire } from "node:module";
      const require = createRequire(import.meta.url);
      const { countTokens } = await import("./tokens.mjs");
      const patterns = await import("gpt-tokenizer/encodingParams/constants");
      const out = { patterns: [patterns.O200K_TOKEN_SPLIT_REGEX.source, patterns.CL100K_TOKEN_SPLIT_REGEX.source], ranks: {}, counts: {} };
      for (const e of ${JSON.stringify(TOKENIZER_ENCODINGS)}) {
        out.ranks[e] = require.resolve("gpt-tokenizer/data/" + e + ".ranks");
        out.counts[e] = await countTokens(${JSON.stringify(sentence)}, e === "o200k_base" ? "gpt-4o" : "gpt-4");
      }
      console.log(JSON.stringify(out));`,
    );
    expect(probe.stderr).toBe("");
    const shipped = JSON.parse(probe.stdout);
    const patterns = await import("gpt-tokenizer/encodingParams/constants");
    expect(shipped.patterns).toEqual([
      patterns.O200K_TOKEN_SPLIT_REGEX.source,
      patterns.CL100K_TOKEN_SPLIT_REGEX.source,
    ]);
    for (const encoding of TOKENIZER_ENCODINGS) {
      // The table beside the bundle (the only ranks there: the counts below read it), made
      // from the package's own file.
      expect(shipped.ranks[encoding]).toBe(
        join(packageDir(TOKENIZER.name), "data", `${encoding}.ranks`),
      );
      const made = ByteRanks.fromTiktoken(readFileSync(tiktokenFile(encoding))).toTable();
      expect(readFileSync(shipped.ranks[encoding]).equals(made)).toBe(true);
    }
    const { encode: o200k } = await import("gpt-tokenizer/encoding/o200k_base");
    const { encode: cl100k } = await import("gpt-tokenizer/encoding/cl100k_base");
    expect(shipped.counts).toEqual({
      o200k_base: o200k(sentence).length,
      cl100k_base: cl100k(sentence).length,
    });
    // The two encodings tokenize differently: each count read its own file.
    expect(o200k(sentence).length).not.toEqual(cl100k(sentence).length);
  });

  it("answer nodemailer with a nodemailer that builds a mail (stream e-mail)", () => {
    const probe = run(
      `const nodemailer = (await import("nodemailer")).default;
      const info = await nodemailer.createTransport({ jsonTransport: true }).sendMail({
        from: "a@example.com", to: "b@example.com", subject: "Grüße", text: "hello" });
      console.log(info.message);`,
    );
    expect(probe.stderr).toBe("");
    expect(JSON.parse(probe.stdout)).toMatchObject({
      from: { address: "a@example.com" },
      to: [{ address: "b@example.com" }],
      subject: "Grüße",
      text: "hello",
    });
  });

  it("answer nothing else: a subpath sluice does not import is not there", () => {
    // Nor gpt-tokenizer's own encodings: their ranks are megabytes of JavaScript.
    const other = run(`await import("gpt-tokenizer/encoding/o200k_base");`);
    expect(other.status).not.toBe(0);
    expect(other.stderr).toContain("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });
});
