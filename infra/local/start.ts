/**
 * `npm start`: the whole gateway on this machine. Prints the URL, the admin's console
 * sign-in and access token and a demo key, and writes them to .sluice/local.json for scripts.
 */
import { createServer } from "node:net";
import { resolve } from "node:path";
import { DEMO_BALANCE_USD, type LocalStack, startLocalStack } from "./stack";

const env = process.env;
const stateFile = resolve(".sluice/local.json");
const port = Number(env.PORT ?? 8080);
const host = env.HOST ?? "127.0.0.1";

let running: LocalStack | undefined;
let stopping = false;

/**
 * Stops everything this process started (DynamoDB Local's JVM included) and exits. Ctrl-C
 * reaches this process twice (from the terminal, and forwarded by npm): a second signal is
 * ignored. A stop that hangs exits after 10 s; the JVM is still killed by its exit handler.
 */
async function shutdown(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n  ${reason}: stopping sluice…`);
  setTimeout(() => process.exit(1), 10_000).unref();
  await running?.stop();
  process.exit(0);
}

// Registered before anything starts, so that a signal during start-up also stops what started.
// Not SIGHUP: a handler would undo `nohup`; without one, the JVM's watchdog sees to it.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void shutdown(signal));
}

/**
 * npm forwards SIGINT and SIGTERM, but nothing is forwarded when npm (or whatever started this
 * process) is killed with SIGKILL: then this process notices that its parent is gone and stops.
 */
function stopWhenParentDies(): void {
  const parent = process.ppid;
  if (parent <= 1) return;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") void shutdown("parent process gone");
    }
  }, 1_000).unref();
}

/** A port in use fails at once, not after DynamoDB Local has started (the server checks again). */
async function checkPortIsFree(): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  stopWhenParentDies();
  await checkPortIsFree();
  const stack = await startLocalStack({
    port,
    host,
    dataDir: env.SLUICE_DATA_DIR ? resolve(env.SLUICE_DATA_DIR, "dynamodb") : undefined,
    stateFile,
    consoleDir: resolve(".sluice/console"),
    upstream: env.SLUICE_UPSTREAM_BASE_URL
      ? {
          baseUrl: env.SLUICE_UPSTREAM_BASE_URL,
          apiKey: env.SLUICE_UPSTREAM_API_KEY,
          models: env.SLUICE_UPSTREAM_MODELS?.split(",")
            .map((m) => m.trim())
            .filter(Boolean),
        }
      : undefined,
  });

  running = stack;
  const upstream =
    stack.upstream.kind === "demo"
      ? `embedded demo upstream (deterministic, offline) at ${stack.upstream.server.baseUrl}`
      : `${stack.upstream.baseUrl}`;
  const models =
    stack.upstream.kind === "demo" ? stack.upstream.server.models : stack.upstream.models;
  console.log(`
  sluice is running locally (started in ${((Date.now() - started) / 1000).toFixed(1)} s)

  Console       ${stack.url}/   (sign in as ${stack.adminUsername}, password ${stack.adminPassword})
  Admin token   ${stack.adminToken}   (management API: /api/*)
  Demo key      ${stack.demoKey}   (OpenAI API: /v1/*, $${DEMO_BALANCE_USD} of free quota)
  Mailbox       ${stack.mailbox.url}/mail?to=<address>   (the mail sluice sent: codes, reset links)
  Upstream      ${upstream}
  Models        ${models.join(", ") || "(none)"}${
    stack.upstream.unpriced.length
      ? `\n                (${stack.upstream.unpriced.join(", ")} have no price: refused until an admin prices them on the console's pricing page)`
      : ""
  }
  Data          ${env.SLUICE_DATA_DIR ? `DynamoDB on disk in ${resolve(env.SLUICE_DATA_DIR)}` : "in memory (set SLUICE_DATA_DIR to keep it)"}
  Saved to      ${stateFile}

  Try it:
    curl ${stack.url}/v1/chat/completions \\
      -H "Authorization: Bearer ${stack.demoKey}" -H "Content-Type: application/json" \\
      -d '{"model": "${models[0] ?? "gpt-4o-mini"}", "messages": [{"role": "user", "content": "Hello"}]}'

  Ctrl-C (or kill ${process.pid}) stops everything.
`);
}

/** What went wrong, in a sentence: the stack trace of a start-up failure helps nobody here. */
function explain(err: unknown): string {
  if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
    return `port ${port} is in use on ${host}; set PORT=… to another port (PORT=0 picks a free one) or stop the other process`;
  }
  return err instanceof Error ? err.message : String(err);
}

main().catch((err) => {
  console.error(`\n  sluice did not start: ${explain(err)}\n`);
  process.exit(1);
});
