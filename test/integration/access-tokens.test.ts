/**
 * Named access tokens over HTTP, on the run's stack: the console's "generate" replaces only
 * the `console` token, so the CLI's (`sluice login`: POST /api/user/tokens/issue) keeps
 * working; a password change revokes every token, tried with each old one at once on every
 * kind of route; an account holds 10 at most; `npm start`'s token is `local-cli`. Races of
 * many mints at once are in test/unit/access-tokens.test.ts, on the in-process core.
 */
import { describe, expect, it } from "vitest";
import { admin, api, type Json, sluice } from "./support";

const PASSWORD = "correct horse battery";
const unique = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

async function userWithPassword() {
  const username = unique("named");
  const created = await admin("POST", "/api/user", { username, password: PASSWORD });
  return { id: created.id as string, username, token: created.access_token as string };
}

const issue = (username: string, name: string, password = PASSWORD) =>
  api(undefined, "POST", "/api/user/tokens/issue", { username, password, name });

/** Calls a token may make: reads and writes of the management API. */
const ROUTES: [string, string, unknown?][] = [
  ["GET", "/api/user/self"],
  ["GET", "/api/user/tokens"],
  ["GET", "/api/token/"],
  ["POST", "/api/token/", { name: "after the change" }],
  ["POST", "/api/user/tokens", { name: "successor", password: PASSWORD }],
  ["DELETE", "/api/user/tokens/console"],
];

describe("named access tokens", () => {
  it("the console's generate replaces its own token only: the CLI's still works", async () => {
    const user = await userWithPassword();
    const cli = await issue(user.username, "cli@laptop");
    expect(cli.status).toBe(200);
    expect(cli.body.data).toMatchObject({ name: "cli@laptop", username: user.username });
    const cliToken = cli.body.data.token as string;
    const first = await api(cliToken, "POST", "/api/user/token", { password: PASSWORD });
    const second = await api(cliToken, "POST", "/api/user/token", { password: PASSWORD });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect((await api(first.body.data, "GET", "/api/user/self")).status).toBe(401);
    expect((await api(second.body.data, "GET", "/api/user/self")).status).toBe(200);
    expect((await api(cliToken, "GET", "/api/user/self")).status).toBe(200);
    expect((await api(user.token, "GET", "/api/user/self")).status).toBe(200);
    const listed = (await api(cliToken, "GET", "/api/user/tokens")).body.data as Json[];
    // Listed by creation second, then name: compared by name (all may share one second).
    const byName = [...listed].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName.map((t) => [t.name, t.via, t.tail])).toEqual([
      ["cli@laptop", "cli", cliToken.slice(-4)],
      ["console", "api", (second.body.data as string).slice(-4)],
      ["initial", "admin", user.token.slice(-4)],
    ]);
    // The list never holds a secret or its hash.
    expect(JSON.stringify(listed)).not.toMatch(/sat-|[0-9a-f]{32}/);
  });

  it("a password change revokes every token: each old one, on every route at once, is 401", async () => {
    const user = await userWithPassword();
    const cli = (await issue(user.username, "cli@box")).body.data.token as string;
    const script = (
      await api(cli, "POST", "/api/user/tokens", { name: "backup-script", password: PASSWORD })
    ).body.data.token as string;
    const console = (await api(cli, "POST", "/api/user/token", { password: PASSWORD })).body
      .data as string;
    const old = [user.token, cli, script, console];
    for (const token of old) expect((await api(token, "GET", "/api/user/self")).status).toBe(200);

    const changed = await api(script, "PUT", "/api/user/self", {
      password: PASSWORD,
      new_password: "a whole new password",
    });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ access_token_revoked: true });
    const answers = await Promise.all(
      old.flatMap((token) => ROUTES.map(([method, path, body]) => api(token, method, path, body))),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 401));
    expect(answers.every((a) => a.body.success === false)).toBe(true);
    // The old password makes none; the new one does.
    expect((await issue(user.username, "cli@box")).status).toBe(401);
    const fresh = await issue(user.username, "cli@box", "a whole new password");
    expect(fresh.status).toBe(200);
    const listed = (await api(fresh.body.data.token, "GET", "/api/user/tokens")).body.data;
    expect(listed.map((t: Json) => t.name)).toEqual(["cli@box"]);
  });

  it("holds 10 at most; a held name is replaced, a revoked one frees a place", async () => {
    const user = await userWithPassword();
    const cli = (await issue(user.username, "cli@one")).body.data.token as string;
    for (let i = 0; i < 8; i++) {
      const made = await api(cli, "POST", "/api/user/tokens", {
        name: `script-${i}`,
        password: PASSWORD,
      });
      expect(made.status).toBe(200);
    }
    const eleventh = await issue(user.username, "cli@two");
    expect(eleventh.status).toBe(409);
    expect(eleventh.body).toMatchObject({ success: false, message: expect.stringMatching(/10/) });
    expect((await issue(user.username, "script-3")).status).toBe(200);
    expect((await api(cli, "DELETE", "/api/user/tokens/script-0")).status).toBe(200);
    expect((await issue(user.username, "cli@two")).status).toBe(200);
    expect((await api(cli, "GET", "/api/user/tokens")).body.data).toHaveLength(10);
  });

  it("npm start's token is `local-cli`, which the admin's console generate leaves alone", async () => {
    const listed = (await admin("GET", "/api/user/tokens")) as Json[];
    const own = listed.find((t) => t.tail === sluice.adminToken.slice(-4));
    expect(own).toMatchObject({ name: "local-cli", via: "local" });
  });
});
