#!/usr/bin/env node
// `npx sluice …`: runs the TypeScript CLI through tsx, which the project already uses.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./sluice.ts");
// exitCode, not exit(): the process ends once stdout is flushed, so piped output is never cut.
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  fetch,
  stdin: process.stdin,
});
