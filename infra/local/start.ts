/**
 * `npm start`: the whole gateway on this machine. Prints the URL, the admin's console
 * sign-in and access token and a demo key, and writes them to .sluice/local.json for scripts.
 */
import { resolve } from "node:path";
import { DEMO_BALANCE_USD, startLocalStack } from "./stack";

const env = process.env;
const stateFile = resolve(".sluice/local.json");

async function main(): Promise<void> {
  const started = Date.now();
  const stack = await startLocalStack({
    port: Number(env.PORT ?? 8080),
    host: env.HOST ?? "127.0.0.1",
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
  Upstream      ${upstream}
  Models        ${models.join(", ") || "(none)"}${
    stack.upstream.kind === "real" && stack.upstream.pricedLikeMini.length
      ? `\n                (${stack.upstream.pricedLikeMini.join(", ")} had no price and are billed like gpt-4o-mini)`
      : ""
  }
  Data          ${env.SLUICE_DATA_DIR ? `DynamoDB on disk in ${resolve(env.SLUICE_DATA_DIR)}` : "in memory (set SLUICE_DATA_DIR to keep it)"}
  Saved to      ${stateFile}

  Try it:
    curl ${stack.url}/v1/chat/completions \\
      -H "Authorization: Bearer ${stack.demoKey}" -H "Content-Type: application/json" \\
      -d '{"model": "${models[0] ?? "gpt-4o-mini"}", "messages": [{"role": "user", "content": "Hello"}]}'

  Ctrl-C stops everything.
`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n  ${signal}: stopping sluice…`);
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
