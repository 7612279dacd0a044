import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "../../shared/config/settings";
import { createLogger, type LogSink } from "../../shared/observability";

/**
 * Where the local stack's functions and its stand-ins for Lambda's machinery log: at the
 * level of the settings, to stdout (`npm start`) or to a sink (a test run keeps the lines,
 * and shows those of a test that fails).
 */
export interface LocalLogging {
  level: LogLevel;
  sink?: LogSink;
}

/**
 * A stand-in's own Logger (the function URL, the SQS poller, the stream poller, the janitor's
 * timer): its lines name the function it invokes and the stand-in itself.
 */
export function standInLogger(
  standIn: string,
  functionName: string,
  logging: LocalLogging = { level: "INFO" },
): Logger {
  const log = createLogger({ ...logging, functionName });
  log.appendPersistentKeys({ stand_in: standIn });
  return log;
}

/**
 * A request to the local function URL may name the test it is made for, in this header (the
 * integration tests send it): it is taken off before the function sees the request, and what
 * the invocation logs is known to be that test's, however many tests call at once.
 */
export const TEST_HEADER = "x-sluice-test";

const invocationTest = new AsyncLocalStorage<string>();

/** Runs an invocation on behalf of the test its request named, if any. */
export function forTest<T>(test: string | undefined, invoke: () => T): T {
  return test ? invocationTest.run(test, invoke) : invoke();
}

/** The test the running invocation serves, if its request named one. */
export function currentTest(): string | undefined {
  return invocationTest.getStore();
}
