import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";

/**
 * `npm run test:timings [-- --compare old.json] [vitest arguments]`: runs vitest as `npm test`
 * does, keeps its JSON report (test-results/timings.json) and prints the run's wall time and
 * each file's, slowest first; with --compare, beside those of an earlier report. The machine
 * is shared: compare runs made back to back, and read a second or two as noise.
 */

interface FileResult {
  name: string;
  startTime: number;
  endTime: number;
  status: string;
  assertionResults: { status: string }[];
}

interface Report {
  startTime: number;
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  testResults: FileResult[];
  /** Added here: the run's wall time, from spawning vitest to its exit. */
  wallMs?: number;
}

const OUT = "test-results/timings.json";

const args = process.argv.slice(2);
const at = args.indexOf("--compare");
const before = at >= 0 ? read(args.splice(at, 2)[1] as string) : undefined;

mkdirSync(dirname(OUT), { recursive: true });
const started = performance.now();
const code = await new Promise<number>((resolve) => {
  const child = spawn(
    "npx",
    [
      "vitest",
      "run",
      "--reporter=default",
      "--reporter=./test/stack-log.ts",
      "--reporter=json",
      `--outputFile.json=${OUT}`,
      ...args,
    ],
    { stdio: "inherit" },
  );
  child.on("exit", (status) => resolve(status ?? 1));
});
const wallMs = performance.now() - started;
const report = read(OUT);
print(report, wallMs, before);
process.exitCode = code;

function read(path: string): Report {
  return JSON.parse(readFileSync(path, "utf8")) as Report;
}

/** A file's path from the project's test/ folder on, whichever checkout the report came from. */
function fileName(path: string): string {
  return (
    /(?:^|\/)(test\/(?:unit|integration|infra)\/.*)$/.exec(path)?.[1] ??
    relative(process.cwd(), path)
  );
}

/** A file's time: from its worker starting it to its last test's end (import and hooks too). */
function seconds(file: FileResult): number {
  return (file.endTime - file.startTime) / 1000;
}

function print(report: Report, wallMs: number, before?: Report): void {
  const earlier = new Map(
    (before?.testResults ?? []).map((file) => [fileName(file.name), seconds(file)]),
  );
  const rows = report.testResults
    .map((file) => ({
      name: fileName(file.name),
      tests: file.assertionResults.length,
      seconds: seconds(file),
      status: file.status,
    }))
    .sort((a, b) => b.seconds - a.seconds);
  const width = Math.max(...rows.map((row) => row.name.length));
  const head = before ? `${"before".padStart(8)} ${"after".padStart(8)}` : "seconds".padStart(8);
  console.log(`\n${"file".padEnd(width)} ${"tests".padStart(5)} ${head}`);
  for (const row of rows) {
    const was = earlier.get(row.name);
    const times = before
      ? `${was === undefined ? "-".padStart(8) : was.toFixed(1).padStart(8)} ${row.seconds.toFixed(1).padStart(8)}`
      : row.seconds.toFixed(1).padStart(8);
    const failed = row.status === "passed" ? "" : `  ${row.status}`;
    console.log(`${row.name.padEnd(width)} ${String(row.tests).padStart(5)} ${times}${failed}`);
  }
  const sum = rows.reduce((total, row) => total + row.seconds, 0);
  console.log(
    `\n${report.numPassedTests}/${report.numTotalTests} tests passed in ${rows.length} files;` +
      ` files' times add up to ${sum.toFixed(0)} s; the run took ${(wallMs / 1000).toFixed(1)} s` +
      (before?.wallMs ? ` (before: ${(before.wallMs / 1000).toFixed(1)} s)` : ""),
  );
  // Kept with the report, for a later --compare.
  writeFileSync(OUT, JSON.stringify({ ...report, wallMs }));
}
