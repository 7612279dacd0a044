/**
 * What the reporter shows under a failed test (test/stack-log.ts): the lines of its own
 * requests whenever they were logged, and the lines of no request logged while it ran; never
 * another test's, though that test ran at the same time.
 */
import { describe, expect, it } from "vitest";
import { forTest } from "../../infra/local/logs";
import { keptLines, linesOf, type StackLogLine, stackLogSink } from "../stack-log";

describe("the stack log of a test", () => {
  it("is its requests' lines and the unattributed lines of its time, not other tests'", () => {
    const kept: StackLogLine[] = [
      { at: 100, test: "mine", line: "my request" },
      { at: 150, test: "theirs", line: "their request, at the same time" },
      { at: 160, line: "the janitor, meanwhile" },
      { at: 90, line: "the janitor, before" },
      { at: 400, test: "mine", line: "my request's settlement, after the test" },
      { at: 401, line: "the worker, after" },
    ];
    expect(linesOf(kept, "mine", { from: 100, to: 300 })).toEqual({
      own: ["my request", "my request's settlement, after the test"],
      meanwhile: ["the janitor, meanwhile"],
    });
    // A test file's hooks: their own requests' lines only.
    expect(linesOf(kept, "theirs")).toEqual({
      own: ["their request, at the same time"],
      meanwhile: [],
    });
  });

  it("knows the test of a line logged while the local function URL served its request", async () => {
    const stored = keptLines();
    const before = stored.length;
    await Promise.all([
      forTest("test-a", async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        stackLogSink("a's line");
      }),
      forTest("test-b", async () => stackLogSink("b's line")),
    ]);
    stackLogSink("nobody's line");
    expect(stored.slice(before).map(({ test, line }) => ({ test, line }))).toEqual([
      { test: "test-b", line: "b's line" },
      { test: "test-a", line: "a's line" },
      { test: undefined, line: "nobody's line" },
    ]);
  });
});
