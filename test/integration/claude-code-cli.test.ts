import { describe, expect, it } from "vitest";
import {
  CLAUDE_CODE_VERSION,
  claudeCodeCli,
  claudeCodeEnv,
  claudeCodeHome,
  RegistryUnreachable,
  runClaudeCode,
} from "../fixtures/cli-cache";

/**
 * The real Claude Code CLI, installed from npm at a pinned version outside the project's
 * dependencies (test/fixtures/cli-cache.ts). The sessions against sluice come with the
 * Messages API; for now, that the pinned CLI installs and runs here, offline and quiet.
 */
describe("Claude Code CLI", () => {
  it(`installs ${CLAUDE_CODE_VERSION} (or reuses it) and runs offline`, {
    timeout: 600_000,
  }, async (context) => {
    let cli: Awaited<ReturnType<typeof claudeCodeCli>>;
    try {
      cli = await claudeCodeCli();
    } catch (err) {
      if (err instanceof RegistryUnreachable) context.skip(err.message);
      throw err;
    }
    const home = await claudeCodeHome();
    try {
      const run = await runClaudeCode(cli, ["--version"], {
        env: claudeCodeEnv({
          home: home.home,
          baseUrl: "http://127.0.0.1:9",
          authToken: "sk-unused",
        }),
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(`${CLAUDE_CODE_VERSION} (Claude Code)`);
      // Reused, not installed again.
      expect(await claudeCodeCli()).toEqual(cli);
    } finally {
      await home.remove();
    }
  });
});
