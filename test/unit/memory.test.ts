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
  const lambda = (memory: number) => ({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory) });
  const MB = 1024 * 1024;

  it("collects before a large body on Lambda when the last calls left more than the body may need", async () => {
    let made: boolean | undefined;
    const collections = await majorCollections(
      async () => (made = await makeRoomFor(1 * MB, lambda(128), 100 * MB)),
    );
    expect(made).toBe(true);
    expect(collections).toBeGreaterThanOrEqual(1);
  });

  it("does nothing when there is room, for a small body, at a memory size the body cannot fill, or off Lambda", async () => {
    const collections = await majorCollections(async () => {
      // 128 MB: what the API holds between calls and the body's two copies in the event.
      expect(await makeRoomFor(1 * MB, lambda(128), 80 * MB)).toBe(false);
      expect(await makeRoomFor(100 * 1024, lambda(128), 120 * MB)).toBe(false);
      // 1 GB: a 1 MB body cannot take the 700 MB left.
      expect(await makeRoomFor(1 * MB, lambda(1024), 300 * MB)).toBe(false);
      expect(await makeRoomFor(5 * MB, {}, 120 * MB)).toBe(false);
    });
    expect(collections).toBe(0);
  });

  it("still collects when a 6 MB body could fill even a 1 GB function's room", async () => {
    expect(await makeRoomFor(6 * MB, lambda(1024), 900 * MB)).toBe(true);
  });
});

describe("functionMemoryMb", () => {
  it("reads the function's memory size from Lambda's environment, else the API's default", () => {
    expect(functionMemoryMb({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512" })).toBe(512);
    expect(functionMemoryMb({})).toBe(128);
    expect(functionMemoryMb({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "x" })).toBe(128);
    expect(functionMemoryMb({}, 512)).toBe(512);
    expect(functionMemoryMb({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "1024" }, 512)).toBe(1024);
  });
});
