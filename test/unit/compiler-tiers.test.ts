/**
 * The API function stops at V8's baseline compiler below OPTIMISING_FROM_MB
 * (functions/api/compiler-tiers.ts): first the rule, then on V8 itself — a process that chose
 * for 128 MB optimises nothing however hot its code runs (`--trace-opt` says what V8
 * compiles), one that chose for a full vCPU optimises as V8 does by default.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { OPTIMISING_FROM_MB, optimising } from "../../functions/api/compiler-tiers";
import { loadSettings } from "../../shared/config/settings";

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

describe("on V8", () => {
  /** TurboFan's compilations once a process has chosen for `memory`, as it runs hot code. */
  function optimisations(memory: number): number {
    const script = `
      const { chooseCompilerTiers } = await import("./functions/api/compiler-tiers.ts");
      chooseCompilerTiers(undefined);
      console.log("chosen");
      function hot(values) { let sum = 0; for (const v of values) sum += v * 2; return sum; }
      const values = Array.from({ length: 1000 }, (_, i) => i);
      let total = 0;
      for (let i = 0; i < 20000; i++) total += hot(values);
      console.log("total", total);
    `;
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "--trace-opt", "--input-type=module", "-e", script],
      {
        encoding: "utf8",
        env: { ...process.env, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory) },
      },
    );
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("total 19980000000");
    // What V8 compiled after the choice (tsx's own loading comes before it).
    const after = run.stdout.slice(run.stdout.indexOf("chosen\n"));
    return after.split("\n").filter((line) => /compiling method .*TURBOFAN/.test(line)).length;
  }

  it("optimises nothing at 128 MB, and the hot loop at a full vCPU", () => {
    expect(optimisations(128)).toBe(0);
    expect(optimisations(1769)).toBeGreaterThan(0);
  });
});
