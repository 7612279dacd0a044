/**
 * The rules by which the API function stops at V8's baseline compiler, and compiles its bundle
 * whole at import, below OPTIMISING_FROM_MB (functions/api/compiler-tiers.ts), and the import
 * that compiles a module whole. That V8 then optimises nothing, and that the handler and the
 * entry built for Lambda apply the rules: test/integration/compiler-tiers.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { compilesAtInit, OPTIMISING_FROM_MB, optimising } from "../../functions/api/compiler-tiers";
import { loadSettings } from "../../shared/config/settings";
import { compiledLazily } from "../fixtures/v8-log";

describe("the rule", () => {
  const at = (memory: number, chosen?: boolean) =>
    optimising(chosen, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory) });

  it("optimises from OPTIMISING_FROM_MB up, and outside Lambda", () => {
    expect([128, 256, OPTIMISING_FROM_MB - 1].map((mb) => at(mb))).toEqual([false, false, false]);
    expect([OPTIMISING_FROM_MB, 1769, 10_240].map((mb) => at(mb))).toEqual([true, true, true]);
    expect(optimising(undefined, {})).toBe(true);
  });

  it("follows SLUICE_OPTIMISING_COMPILER over the memory size; another value stops the function", () => {
    const chosen = (value: string) =>
      loadSettings({ SLUICE_OPTIMISING_COMPILER: value }).optimisingCompiler;
    expect(at(128, chosen("true"))).toBe(true);
    expect(at(1769, chosen("FALSE"))).toBe(false);
    expect(at(128, chosen(""))).toBe(false);
    expect(() => chosen("off")).toThrow(/SLUICE_OPTIMISING_COMPILER must be true or false/);
  });
});

describe("compiling at initialisation", () => {
  const at = (memory: number, chosen?: boolean) =>
    compilesAtInit(chosen, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory) });

  it("compiles whole below OPTIMISING_FROM_MB, not from there up nor outside Lambda", () => {
    expect([128, 256, OPTIMISING_FROM_MB - 1].map((mb) => at(mb))).toEqual([true, true, true]);
    expect([OPTIMISING_FROM_MB, 1769].map((mb) => at(mb))).toEqual([false, false]);
    expect(compilesAtInit(undefined, {})).toBe(false);
  });

  it("follows SLUICE_COMPILE_AT_INIT over the memory size; another value stops the function", () => {
    const chosen = (value: string) => loadSettings({ SLUICE_COMPILE_AT_INIT: value }).compileAtInit;
    expect(at(128, chosen("false"))).toBe(false);
    expect(at(1769, chosen("TRUE"))).toBe(true);
    expect(at(128, chosen(""))).toBe(true);
    expect(() => chosen("yes")).toThrow(/SLUICE_COMPILE_AT_INIT must be true or false/);
  });

  /**
   * In a node of its own, logging V8's function events: a module imported by importCompiled,
   * whose top-level code lifts the flag (`lifts`) and then imports another; then a third by a
   * plain import; each function called once. Returns the names of the functions of each that
   * V8 compiled at their first call.
   */
  function lazilyCompiled(
    whole: boolean,
    lifts = true,
  ): { first: string[]; loaded: string[]; next: string[] } {
    const dir = mkdtempSync(join(tmpdir(), "sluice-compile-"));
    try {
      const tiers = pathToFileURL(join(process.cwd(), "functions/api/compiler-tiers.ts")).href;
      const module = (name: string, top = "") => {
        const file = join(dir, `${name}.mjs`);
        writeFileSync(
          file,
          `${top}export function ${name}() { return [1, 2].map((x) => x * 2); }\n`,
        );
        return pathToFileURL(file).href;
      };
      const loaded = module("loaded");
      const first = module(
        "first",
        `import { compiledWhole } from ${JSON.stringify(tiers)};
        ${lifts ? "compiledWhole();" : ""}
        export const { loaded } = await import(${JSON.stringify(loaded)});\n`,
      );
      const next = module("next");
      const script = `
        const { importCompiled } = await import(${JSON.stringify(tiers)});
        const a = await importCompiled(${JSON.stringify(first)}, ${whole});
        const b = await import(${JSON.stringify(next)});
        a.first();
        a.loaded();
        b.next();`;
      const run = spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "--log-function-events",
          `--logfile=${join(dir, "v8.log")}`,
          "--input-type=module",
          "-e",
          script,
        ],
        { encoding: "utf8" },
      );
      expect(run.status, run.stderr).toBe(0);
      const lazy = (url: string) => compiledLazily(dir, "v8.log", url);
      return { first: lazy(first), loaded: lazy(loaded), next: lazy(next) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("compiles the module imported whole as it reads it, and what loads once it lifts the flag lazily", () => {
    const whole = lazilyCompiled(true);
    expect(whole.first).toEqual([]);
    expect(whole.loaded).toContain("loaded");
    expect(whole.next).toContain("next");
    // Until it lifts the flag, what it loads is compiled whole too (the import's end lifts it).
    const unlifted = lazilyCompiled(true, false);
    expect(unlifted.loaded).toEqual([]);
    expect(unlifted.next).toContain("next");
    // Without importCompiled, the first module's functions too are compiled when first called.
    expect(lazilyCompiled(false).first).toContain("first");
  }, 30_000);
});
