/**
 * The rule by which the API function stops at V8's baseline compiler below OPTIMISING_FROM_MB
 * (functions/api/compiler-tiers.ts). That V8 then optimises nothing, and that the handler
 * applies the rule: test/integration/compiler-tiers.test.ts.
 */
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
