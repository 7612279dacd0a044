import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // A passing run prints the runner's lines only: what a test logs (its own console, the
    // sluice instances it runs) is shown if it fails, and so is what the local stack logged
    // for it (test/stack-log.ts).
    silent: "passed-only",
    reporters: ["default", "./test/stack-log.ts"],
    // Powertools writes through the console, which vitest keeps per test (POWERTOOLS_DEV also
    // leaves metrics out unless a test asks for them).
    env: { POWERTOOLS_DEV: "true" },
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        test: {
          name: "infra",
          include: ["test/infra/**/*.test.ts"],
          // Synthesising the stack bundles both functions with esbuild.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // One local stack (DynamoDB Local, fauxqs, sluice) for the whole run.
          globalSetup: ["test/integration/global-setup.ts"],
          setupFiles: ["test/integration/setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
