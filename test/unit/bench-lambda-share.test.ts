import { describe, expect, it } from "vitest";
import {
  cpuQuotaMicros,
  DEFAULT_MEMORY_SIZES,
  lambdaNodeFlags,
  shareOptions,
} from "../../bench/lambda-share/lambda";
import { percentile } from "../../bench/stats";

describe("the share bench's Lambda environment", () => {
  it("gives a memory size its share of a vCPU per CFS period: a full one at 1,769 MB", () => {
    expect(cpuQuotaMicros(1769)).toBe(20_000);
    expect(cpuQuotaMicros(128)).toBe(1447);
    expect(cpuQuotaMicros(512, 100_000)).toBe(28_943);
    expect(cpuQuotaMicros(3538)).toBe(40_000);
  });

  it("starts node with the heap limits of Lambda's Node.js runtime for the size", () => {
    expect(lambdaNodeFlags(128)).toEqual([
      "--expose-gc",
      "--max-http-header-size=81920",
      "--max-semi-space-size=6",
      "--max-old-space-size=116",
    ]);
    expect(lambdaNodeFlags(1769)).toContain("--max-old-space-size=1593");
    expect(lambdaNodeFlags(1769)).toContain("--max-semi-space-size=88");
  });
});

describe("the bench's --share and --memory arguments", () => {
  it("selects the share bench only when asked", () => {
    expect(shareOptions([])).toBeUndefined();
    expect(shareOptions(["--share"])).toEqual({ memorySizes: DEFAULT_MEMORY_SIZES });
    expect(DEFAULT_MEMORY_SIZES).toEqual([128, 1769]);
  });

  it("reads a list of sizes in either spelling", () => {
    expect(shareOptions(["--memory", "128,256,512,1769"])).toEqual({
      memorySizes: [128, 256, 512, 1769],
    });
    expect(shareOptions(["--share", "--memory=256"])).toEqual({ memorySizes: [256] });
  });

  it("refuses what is not a Lambda memory size, naming it", () => {
    expect(() => shareOptions(["--memory"])).toThrow(/needs a list/);
    expect(() => shareOptions(["--memory", "128,64"])).toThrow(/"64" is not a Lambda memory size/);
    expect(() => shareOptions(["--memory=1.5"])).toThrow(/"1.5"/);
    expect(() => shareOptions(["--memory", "20000"])).toThrow(/from 128 to 10240/);
    expect(() => shareOptions(["--memory", "128,,256"])).toThrow(/"" is not/);
  });
});

describe("percentile", () => {
  it("takes the nearest rank, whatever the order of the samples", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});
