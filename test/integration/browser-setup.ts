import { type BrowserServer, chromium } from "playwright-core";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Where the run's one Chromium listens: test files connect (test/fixtures/browser.ts). */
    chromiumEndpoint: string;
  }
}

/**
 * One Chromium for the run, rather than one per browser test file (launching one costs a few
 * seconds of CPU on this machine). Both integration projects call this setup in the one vitest
 * process; they share the browser the first one started, and the last to finish closes it.
 */
const shared = globalThis as typeof globalThis & {
  sluiceChromium?: { started: Promise<BrowserServer>; users: number };
};

export default async function setup(project: TestProject) {
  shared.sluiceChromium ??= { started: launch(), users: 0 };
  const run = shared.sluiceChromium;
  run.users++;
  const server = await run.started;
  project.provide("chromiumEndpoint", server.wsEndpoint());
  return async () => {
    if (--run.users > 0) return;
    shared.sluiceChromium = undefined;
    await server.close();
  };
}

function launch(): Promise<BrowserServer> {
  return chromium.launchServer({
    // Debian's package: playwright-core downloads no browser.
    executablePath: process.env.SLUICE_CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--headless=new",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}
