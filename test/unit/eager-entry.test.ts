/**
 * The API's entry (functions/api/eager.ts) makes V8 compile its bundle whole at import, and
 * nothing after: built as the stack builds it, beside a stand-in bundle, and run by node with
 * V8's log of function events, which says when each function was compiled.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import {
  API_ENTRY_BUILD,
  API_ENTRY_FILE,
  API_ENTRY_SOURCE,
} from "../../infra/constructs/function-defaults";
import { installedOrSkip, LAMBDA_NODE_VERSION, lambdaNode } from "../fixtures/cli-cache";

const dir = mkdtempSync(join(tmpdir(), "sluice-eager-entry-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

await build({
  entryPoints: [API_ENTRY_SOURCE],
  outfile: join(dir, API_ENTRY_FILE),
  ...API_ENTRY_BUILD,
  logLevel: "error",
});
// The bundle: a handler, and a function no import calls. Then a module loaded after the
// entry, as a side bundle is: its function must stay uncompiled until called.
writeFileSync(
  join(dir, "index.mjs"),
  `export function neverCalledInBundle() { return 1 + 1; }
export const handler = async () => "answered";`,
);
writeFileSync(join(dir, "later.mjs"), "export function neverCalledLater() { return 2 + 2; }");
writeFileSync(
  join(dir, "run.mjs"),
  `const { handler } = await import("./${API_ENTRY_FILE}");
await import("./later.mjs");
console.log(await handler());`,
);

function compiledFunctions(node: string): { answer: string; compiled: Set<string> } {
  const log = join(dir, "v8.log");
  const run = spawnSync(
    node,
    ["--log-function-events", "--no-logfile-per-isolate", `--logfile=${log}`, "run.mjs"],
    { cwd: dir, encoding: "utf8" },
  );
  expect(run.status, run.stderr).toBe(0);
  // function,<event>,<script>,<start>,<end>,<ms>,<µs>,<name>: "interpreter" is a compilation.
  const compiled = new Set(
    readFileSync(log, "utf8")
      .split("\n")
      .filter((line) => line.startsWith("function,interpreter,"))
      .map((line) => line.split(",")[7] ?? ""),
  );
  return { answer: run.stdout.trim(), compiled };
}

describe("the API's entry", () => {
  const expectEager = (node: string) => {
    const { answer, compiled } = compiledFunctions(node);
    expect(answer).toBe("answered");
    expect(compiled.has("neverCalledInBundle")).toBe(true);
    expect(compiled.has("neverCalledLater")).toBe(false);
  };

  it("imports the bundle with its every function compiled, and what comes later as ever", () => {
    expectEager(process.execPath);
  });

  // V8 may stop taking flags once running; Lambda's Node must still take these.
  it(`does so on Lambda's Node.js (${LAMBDA_NODE_VERSION})`, {
    timeout: 300_000,
  }, async (context) => {
    expectEager((await installedOrSkip(context, lambdaNode)).binary);
  });
});
