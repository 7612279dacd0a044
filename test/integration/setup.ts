import { expect, TestRunner } from "vitest";
import { TEST_HEADER } from "../../infra/local/logs";
import { fileTag } from "../stack-log";

/**
 * Every request an integration test makes with fetch (the openai SDK's too) names the test in
 * a header the local function URL takes off: the stack's log lines for it are then shown if
 * it fails (test/stack-log.ts), however many test files call the stack at once. Requests made
 * outside a test (a file's hooks) name the file.
 */
// Test files share a worker's modules (vitest.config.ts: isolate off) and run this file each:
// the fetch it wraps is the one it found first.
const ORIGINAL = Symbol.for("sluice.test.fetch");
const global = globalThis as typeof globalThis & { [ORIGINAL]?: typeof fetch };
global[ORIGINAL] ??= globalThis.fetch;
const send = global[ORIGINAL];
globalThis.fetch = (input, init) => {
  const file = expect.getState().testPath;
  const test = TestRunner.getCurrentTest()?.id ?? (file && fileTag(file));
  if (!test) return send(input, init);
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : {}));
  if (!headers.has(TEST_HEADER)) headers.set(TEST_HEADER, test);
  return send(input, { ...init, headers });
};
