import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { relative } from "node:path";
import type { Reporter, TestCase, TestModule, Vitest } from "vitest/node";
import { currentTest } from "../infra/local/logs";
import type { LogSink } from "../shared/observability";

/**
 * The local stack's log, kept for the run instead of printed, so that a passing run prints
 * the test runner's lines only, and a failing test is shown what the stack logged for it.
 *
 * The stack runs in vitest's main process (integration/global-setup.ts) and so does this
 * reporter; each loads this module on its own, so the lines are kept on globalThis. A line
 * logged while the function URL served a request knows the test that sent it (the
 * integration tests' fetch names its test in a header, integration/setup.ts), whatever other
 * test files call at the same time; the rest (the batch worker, the janitor, the rollups) are
 * known only by when they were logged.
 */
export interface StackLogLine {
  /** Epoch milliseconds. */
  at: number;
  /** The vitest id of the test whose request it was logged for (or its file's tag). */
  test?: string;
  line: string;
}

/** Enough for a whole run (a few thousand lines); past it, the oldest go. */
const KEPT = 50_000;
const KEY = Symbol.for("sluice.test.stack-log");
const global = globalThis as { [KEY]?: StackLogLine[] };
global[KEY] ??= [];
const lines = global[KEY];

/** The lines kept so far, oldest first. */
export function keptLines(): readonly StackLogLine[] {
  return lines;
}

/** What requests outside a test (a file's hooks) send for the test's name: the file's. */
export function fileTag(path: string): string {
  return `file:${encodeURIComponent(path)}`;
}

/** What the local stack logs to during a test run. */
export const stackLogSink: LogSink = (line) => {
  lines.push({ at: Date.now(), test: currentTest(), line });
  if (lines.length > KEPT * 1.2) lines.splice(0, lines.length - KEPT);
};

/**
 * A test's lines: those logged for its own requests, and, logged while it ran, those of no
 * request at all.
 */
export function linesOf(
  kept: readonly StackLogLine[],
  test: string,
  ran?: { from: number; to: number },
): { own: string[]; meanwhile: string[] } {
  const own = kept.filter((entry) => entry.test === test).map((entry) => entry.line);
  const meanwhile = ran
    ? kept
        .filter((entry) => entry.test === undefined && entry.at >= ran.from && entry.at <= ran.to)
        .map((entry) => entry.line)
    : [];
  return { own, meanwhile };
}

/**
 * The kept lines of one test, for the test itself: test files run in workers of their own, and
 * the lines are in this process. `GET <url>/?test=<vitest id>` answers the lines logged for
 * that test's requests (JSON: an array of the lines as logged). Loopback only.
 */
export async function serveStackLog(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const test = new URL(request.url ?? "/", "http://log").searchParams.get("test") ?? "";
    const own = lines.filter((entry) => entry.test === test).map((entry) => entry.line);
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(own));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Prints, after each failed test (or test file), what the stack logged for it. */
export default class StackLogReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestCaseResult(testCase: TestCase): void {
    if (testCase.result().state !== "failed") return;
    const diagnostic = testCase.diagnostic();
    const ran = diagnostic && {
      from: diagnostic.startTime,
      to: diagnostic.startTime + diagnostic.duration,
    };
    const name = `${relative(process.cwd(), testCase.module.moduleId)} > ${testCase.fullName}`;
    this.print(name, linesOf(lines, testCase.id, ran));
  }

  onTestModuleEnd(testModule: TestModule): void {
    // A hook or the file itself failed: its requests outside any test named the file.
    if (testModule.errors().length === 0) return;
    const path = testModule.moduleId;
    this.print(relative(process.cwd(), path), linesOf(lines, fileTag(path)));
  }

  private print(name: string, { own, meanwhile }: { own: string[]; meanwhile: string[] }): void {
    const out = this.vitest?.logger;
    if (!out || own.length + meanwhile.length === 0) return;
    out.log(`\nThe local stack's log for ${name}:`);
    if (own.length) out.log(`  for its requests (${own.length}):\n${indent(own)}`);
    if (meanwhile.length) {
      out.log(`  by no request, while it ran (${meanwhile.length}):\n${indent(meanwhile)}`);
    }
  }
}

function indent(lines: string[]): string {
  return lines.map((line) => `    ${line}`).join("\n");
}
