import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
// ".js" (the TypeScript file, to tsc and Vite): bare, Vite would pick the bin sluice.mjs first.
import { main } from "../../infra/cli/sluice.js";
import { api, sluice } from "./support";

const run = promisify(execFile);
const config = mkdtempSync(join(tmpdir(), "sluice-cli-config-"));

/** Runs `npx sluice …` the way a user would (the package's bin), against the test stack. */
async function sluiceCli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run("node", ["infra/cli/sluice.mjs", ...args], {
      env: {
        ...process.env,
        // Never the machine's own stored credentials.
        XDG_CONFIG_HOME: config,
        SLUICE_URL: sluice.url,
        SLUICE_ADMIN_TOKEN: sluice.adminToken,
        ...env,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * Runs the CLI's main in this process, with the test stack's URL and token (spawning the bin
 * costs seconds of tsx each: three tests do, the rest run here).
 */
async function inProcess(
  argv: string[],
  fetchFn: typeof fetch = fetch,
  env: Record<string, string> = {},
) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {
      SLUICE_URL: sluice.url,
      SLUICE_ADMIN_TOKEN: sluice.adminToken,
      XDG_CONFIG_HOME: config,
      ...env,
    },
    fetch: fetchFn,
  });
  return { code, stdout, stderr };
}

/** The one line a failure prints: never a stack trace or more. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  return lines[0] as string;
}

describe("the admin CLI", () => {
  it("creates a user, tops them up, gives them a key and prices a model, with --json for scripts", async () => {
    const created = await sluiceCli(["users", "create", "dora", "--group", "vip", "--json"]);
    expect(created.code).toBe(0);
    const user = JSON.parse(created.stdout);
    expect(user).toMatchObject({
      name: "dora",
      group: "vip",
      access_token: expect.stringMatching(/^sat-/),
    });

    const topped = JSON.parse(
      (await inProcess(["topup", user.id, "2.5", "--bucket", "bonus", "--json"])).stdout,
    );
    expect(topped).toMatchObject({ bonus_quota: 1_250_000, total_quota: 1_250_000 });

    const key = JSON.parse(
      (
        await inProcess([
          "keys",
          "create",
          "--user",
          user.id,
          "--name",
          "ci",
          "--dollars",
          "1",
          "--json",
        ])
      ).stdout,
    );
    expect(key).toMatchObject({ name: "ci", remain_quota: 500_000, unlimited_quota: false });
    const theirKeys = (await api(user.access_token, "GET", "/api/token/")).body.data;
    expect(theirKeys.map((k: { id: string }) => k.id)).toEqual([key.id]);

    const model = `cli-model-${Date.now()}`;
    expect(
      (await inProcess(["prices", "set", model, "--input", "0.2", "--output", "0.4"])).code,
    ).toBe(0);
    const prices = (await api(sluice.adminToken, "GET", "/api/pricing")).body.data;
    expect(prices.models[model]).toEqual({ input: 0.2, output: 0.4 });
  });

  it("changes only the rates it is given, and imports a LiteLLM price map after showing its diff", async () => {
    const model = `cli-rates-${Date.now()}`;
    const prices = async () => (await api(sluice.adminToken, "GET", "/api/pricing")).body.data;
    expect((await inProcess(["prices", "set", model, "--input", "1", "--output", "4"])).code).toBe(
      0,
    );
    expect((await inProcess(["prices", "set", model, "--cached-input", "0.1"])).code).toBe(0);
    expect((await prices()).models[model]).toEqual({ input: 1, output: 4, cached_input: 0.1 });
    const bad = await inProcess(["prices", "set", model, "--reasoning", "lots"]);
    expect(bad.code).toBe(2);

    // An entry in LiteLLM's own field names, for a model no other test prices.
    const imported = `cli-imported-${Date.now()}`;
    const file = join(mkdtempSync(join(tmpdir(), "sluice-cli-")), "prices.json");
    writeFileSync(
      file,
      JSON.stringify({
        [imported]: {
          litellm_provider: "openai",
          mode: "chat",
          input_cost_per_token: 2.5e-6,
          output_cost_per_token: 1e-5,
          cache_read_input_token_cost: 1.25e-6,
        },
      }),
    );
    const preview = await inProcess(["prices", "import", file, "--format", "litellm"]);
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(new RegExp(`${imported}\\s+added\\s+cached_input\\s+1\\.25`));
    expect(preview.stdout).toContain("not saved");
    expect((await prices()).models[imported]).toBeUndefined();
    const applied = await inProcess(["prices", "import", file, "--format", "litellm", "--apply"]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain("1 added");
    expect((await prices()).models[imported]).toMatchObject({
      input: 2.5,
      output: 10,
      cached_input: 1.25,
    });
  });

  it("prints readable tables by default", async () => {
    const { stdout } = await inProcess(["whoami"]);
    const [header, row] = stdout.trim().split("\n");
    expect(header).toMatch(/^id\s+username\s+name\s+role\s+group\s+status/);
    expect(row).toContain("admin");
  });

  it("names an unknown option or a missing value and the command's usage in one line, exit 2", async () => {
    const [unknown, missing, command] = await Promise.all([
      inProcess(["keys", "list", "--fo"]),
      inProcess(["keys", "create", "--name"]),
      sluiceCli(["frobnicate"]),
    ]);
    expect(unknown).toMatchObject({ code: 2, stdout: "" });
    expect(unknown.stderr).toBe(
      "error: Unknown option --fo for `sluice keys list` (usage: sluice keys list [--user U]).\n",
    );
    expect(missing.code).toBe(2);
    expect(oneLine(missing.stderr)).toMatch(
      /^error: Option --name needs a value for `sluice keys create` \(usage: sluice keys create \[--name N\]/,
    );
    expect(command.code).toBe(2);
    expect(oneLine(command.stderr)).toContain("Unknown command: frobnicate");
  });

  it("exits 1 when the server refuses or cannot be reached, 3 when not signed in, 4 when not found", async () => {
    const [refused, unreachable, noToken, badToken, missingUser] = await Promise.all([
      inProcess(["topup", "user_nobody", "1", "--bucket", "gold"]),
      // Port 1 on this host: nothing listens there, so the connection is refused.
      inProcess(["whoami"], fetch, { SLUICE_URL: "http://127.0.0.1:1" }),
      inProcess(["whoami"], fetch, { SLUICE_URL: "", SLUICE_ADMIN_TOKEN: "" }),
      inProcess(["users", "list"], fetch, { SLUICE_ADMIN_TOKEN: "sat-wrong" }),
      inProcess(["users", "update", "user_nobody", "--status", "disabled"]),
    ]);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toMatch(
      /^error: POST \/api\/user\/user_nobody\/topup: .*bucket/,
    );
    expect(unreachable.code).toBe(1);
    expect(oneLine(unreachable.stderr)).toContain("Cannot reach http://127.0.0.1:1");
    expect(noToken.code).toBe(3);
    expect(oneLine(noToken.stderr)).toContain("Not signed in");
    expect(badToken.code).toBe(3);
    expect(oneLine(badToken.stderr)).toContain("not valid");
    expect(missingUser.code).toBe(4);
    expect(oneLine(missingUser.stderr)).toContain("User");
  });

  it("runs in-process as main(argv, io): --help, --json data, and 5 when a price changed in between", async () => {
    const help = await inProcess(["keys", "create", "--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^Usage: sluice keys create \[--name N\]/);

    const self = await inProcess(["whoami", "--json"]);
    expect(self.code).toBe(0);
    expect(JSON.parse(self.stdout)).toMatchObject({ role: "admin" });

    // Another admin prices the model between the import's preview and its --apply: the
    // import saves only what it showed, so it is refused (409) and nothing of it is saved.
    const model = `cli-conflict-${Date.now()}`;
    const file = join(mkdtempSync(join(tmpdir(), "sluice-cli-")), "prices.json");
    writeFileSync(
      file,
      JSON.stringify({
        [model]: { mode: "chat", input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 },
      }),
    );
    let imports = 0;
    const conflict = await inProcess(
      ["prices", "import", file, "--format", "litellm", "--apply"],
      async (input, init) => {
        if (String(input).endsWith("/api/pricing/import") && ++imports === 2) {
          const other = await api(sluice.adminToken, "PATCH", "/api/pricing", {
            models: { [model]: { input: 7, output: 7 } },
            expected: { [model]: null },
          });
          expect(other.status).toBe(200);
        }
        return fetch(input, init);
      },
    );
    expect(imports).toBe(2);
    expect(conflict.code).toBe(5);
    expect(oneLine(conflict.stderr)).toMatch(/^error: POST \/api\/pricing\/import: /);
    const prices = (await api(sluice.adminToken, "GET", "/api/pricing")).body.data;
    expect(prices.models[model]).toEqual({ input: 7, output: 7 });
  });

  it("bootstraps the first admin straight into a table with AWS credentials", async () => {
    const { code, stdout } = await sluiceCli(
      ["bootstrap", "--table", sluice.tableName, "--name", "root", "--json"],
      {
        AWS_ENDPOINT_URL_DYNAMODB: sluice.dynamoEndpoint,
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "local",
        AWS_SECRET_ACCESS_KEY: "local",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
    );
    expect(code).toBe(0);
    const created = JSON.parse(stdout);
    const self = (await api(created.access_token, "GET", "/api/user/self")).body.data;
    expect(self).toMatchObject({ id: created.id, name: "root", role: "admin" });
  });
});
