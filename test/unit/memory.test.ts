import { PerformanceObserver } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { functionMemoryMb, makeRoomFor } from "../../shared/memory";

/** The full collections that ran while `run` did. */
async function majorCollections(run: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as { detail?: { kind?: number } }).detail?.kind === 4) count++;
  });
  observer.observe({ entryTypes: ["gc"] });
  await run();
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return count;
}

describe("makeRoomFor", () => {
  const lambda = { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "128" };
  const MB = 1024 * 1024;

  it("collects before a large body on Lambda when the process holds more than between calls", async () => {
    // What a last large call left: more than the API holds between calls, with the body's room.
    const left = Buffer.alloc(100 * MB, 1);
    expect(process.memoryUsage.rss()).toBeGreaterThan(100 * MB);
    await new Promise((resolve) => setTimeout(resolve, 50));
    let made: boolean | undefined;
    const collections = await majorCollections(
      async () => (made = await makeRoomFor(2 * MB, lambda)),
    );
    expect(collections).toBeGreaterThanOrEqual(1);
    expect(made).toBe(true);
    expect(left.length).toBe(100 * MB);
  });

  it("does nothing for a small body, or off Lambda", async () => {
    expect(
      await majorCollections(async () => {
        expect(await makeRoomFor(100 * 1024, lambda)).toBe(false);
        expect(await makeRoomFor(5 * MB, {})).toBe(false);
      }),
    ).toBe(0);
  });
});

describe("functionMemoryMb", () => {
  it("reads the function's memory size from Lambda's environment, else the API's default", () => {
    expect(functionMemoryMb({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512" })).toBe(512);
    expect(functionMemoryMb({})).toBe(128);
    expect(functionMemoryMb({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "x" })).toBe(128);
  });
});
