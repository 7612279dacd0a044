import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The default (one fewer than the cores) runs one file at a time on a 2-core machine, yet
    // integration files mostly wait: on the stack, on DynamoDB Local, on timers. Four at once
    // keep both cores busy; the files share the stack as the README says (fresh users, their
    // own channels, site options restored).
    maxWorkers: 4,
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
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
