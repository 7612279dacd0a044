import { defineConfig } from "vitest/config";

/**
 * Test files in one worker share its modules (the AWS SDK, openai, the whole of shared/)
 * rather than each importing them again: importing took a second or two of CPU per file, a
 * fifth of the run's CPU. A file that changes process-wide state puts it back. (Projects do
 * not inherit this from the root.)
 */
const isolate = false;

/** One local stack (DynamoDB Local, fauxqs, sluice) for the whole run, shared by both. */
const integration = {
  isolate,
  globalSetup: ["test/integration/global-setup.ts", "test/integration/browser-setup.ts"],
  setupFiles: ["test/integration/setup.ts"],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  // expect.poll waits on the stack (a click's PUT, a settlement): its default second is too
  // short on a loaded machine (console "e" timed out in CI re-enabling a key). Only a failing
  // poll waits this long.
  expect: { poll: { timeout: 10_000 } },
};

/**
 * Files that sweep every hold in flight, of every test file, with the janitor: they run
 * alone, once the other integration files have finished.
 */
const ALONE = ["test/integration/crash.test.ts"];

export default defineConfig({
  test: {
    // The default (one fewer than the cores) runs one file at a time on a 2-core machine, yet
    // integration files mostly wait: on the stack, on DynamoDB Local, on timers. Four at once
    // keep both cores busy; the files share the stack as the README says (fresh users, their
    // own channels, site options restored).
    maxWorkers: 4,
    // A passing run prints the runner's lines only: what a test logs (its own console, the
    // sluice instances it runs) is shown if it fails, and so is what the local stack logged
    // for it (test/stack-log.ts).
    silent: "passed-only",
    // Four files at once on two cores make most tests take longer than the default 300 ms:
    // only those past 2 s are listed by name, which keeps a passing run's log under 50 KB.
    slowTestThreshold: 2_000,
    reporters: ["default", "./test/stack-log.ts"],
    // Powertools writes through the console, which vitest keeps per test (POWERTOOLS_DEV also
    // leaves metrics out unless a test asks for them).
    env: { POWERTOOLS_DEV: "true" },
    projects: [
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          exclude: ALONE,
          ...integration,
        },
      },
      // The groups below run after the one above; unit tests and the CDK assertions need no
      // stack, so they keep the cores busy beside the file that runs alone.
      {
        test: {
          name: "integration-alone",
          include: ALONE,
          ...integration,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          isolate,
          // A hang guard, not a speed check: the CPU-bound tests (the event-stream codec's pin,
          // audio sniffing of 8 MB files, a 1 MB schema's bound) take 2 to 4 s alone, and share
          // two cores with three other files and the stack.
          testTimeout: 15_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "infra",
          include: ["test/infra/**/*.test.ts"],
          // Synthesising the stack bundles both functions with esbuild.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
