/**
 * Named access tokens, raced on the in-process core (fixtures/core.ts, DynamoDB in memory): a
 * profile holds at most 10 however many are minted at once; a burst of the console's
 * "generate" leaves one console token and never touches the CLI's; a profile of before names
 * keeps its one token, listed as `default`; revoking one leaves the others; and tokens minted
 * in a burst beside a password change are all dead after it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { hashSecret } from "../../shared/auth/secrets";
import { MAX_ACCESS_TOKENS } from "../../shared/store/access-tokens";
import { type Core, startCore } from "../fixtures/core";

// biome-ignore lint/suspicious/noExplicitAny: JSON read by tests; every field used is asserted.
type Json = any;

let core: Core;
beforeAll(async () => {
  core = await startCore();
});

const PASSWORD = "correct horse battery";
const unique = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const answer = await core.call(method, path, { headers, body });
  return { status: answer.status, body: answer.body as Json };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const selfStatus = async (token: string) =>
  (await call("GET", "/api/user/self", bearer(token))).status;

/** A user with a password, and the token the admin was shown (named `initial`). */
async function account() {
  const username = unique("tok");
  const created = await call("POST", "/api/user", bearer(core.admin.accessToken), {
    username,
    password: PASSWORD,
  });
  expect(created.status).toBe(200);
  return { id: created.body.data.id as string, username, token: created.body.data.access_token };
}

/** A console session that signed in just now: it mints without the password. */
async function signIn(username: string) {
  const answer = await core.call("POST", "/api/user/login", {
    body: { username, password: PASSWORD },
  });
  expect(answer.status).toBe(200);
  return {
    cookie: (answer.cookies[0] as string).split(";")[0] as string,
    "x-csrf-token": answer.body.data.csrf_token as string,
  };
}

const issue = (username: string, name: string, password = PASSWORD) =>
  call("POST", "/api/user/tokens/issue", {}, { username, password, name });

describe("named access tokens", () => {
  it("hold at most 10 however many new names are minted at once", async () => {
    const user = await account();
    const session = await signIn(user.username);
    const answers = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        call("POST", "/api/user/tokens", session, { name: `script-${i}` }),
      ),
    );
    const minted = answers.filter((a) => a.status === 200);
    // `initial` is one of the 10.
    expect(minted).toHaveLength(MAX_ACCESS_TOKENS - 1);
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused.map((a) => a.status)).toEqual(refused.map(() => 409));
    expect(refused[0]?.body.message).toMatch(/at most 10/);
    const listed = (await call("GET", "/api/user/tokens", bearer(user.token))).body.data;
    expect(listed).toHaveLength(MAX_ACCESS_TOKENS);
    const statuses = await Promise.all(minted.map((a) => selfStatus(a.body.data.token)));
    expect(statuses).toEqual(minted.map(() => 200));
    // A name held already is replaced, not counted.
    const again = await issue(user.username, "initial");
    expect(again.status).toBe(200);
    expect(await selfStatus(user.token)).toBe(401);
    expect(await selfStatus(again.body.data.token)).toBe(200);
  });

  it("a burst of the console's generate leaves one console token, and the CLI's works", async () => {
    const user = await account();
    const cli = await issue(user.username, "cli@laptop");
    expect(cli.status).toBe(200);
    const session = await signIn(user.username);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call("POST", "/api/user/token", session, {})),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const alive = await Promise.all(answers.map((a) => selfStatus(a.body.data)));
    expect(alive.filter((status) => status === 200)).toHaveLength(1);
    expect(alive.filter((status) => status === 401)).toHaveLength(19);
    expect(await selfStatus(cli.body.data.token)).toBe(200);
    expect(await selfStatus(user.token)).toBe(200);
    const names = (await call("GET", "/api/user/tokens", bearer(user.token))).body.data.map(
      (t: Json) => t.name,
    );
    expect(names.sort()).toEqual(["cli@laptop", "console", "initial"]);
  });

  it("revoking one leaves the others; an unknown name is 404", async () => {
    const user = await account();
    const cli = (await issue(user.username, "cli@box")).body.data.token;
    const revoked = await call("DELETE", "/api/user/tokens/initial", bearer(cli));
    expect(revoked.status).toBe(200);
    expect(await selfStatus(user.token)).toBe(401);
    expect(await selfStatus(cli)).toBe(200);
    const twice = await Promise.all(
      Array.from({ length: 5 }, () => call("DELETE", "/api/user/tokens/initial", bearer(cli))),
    );
    expect(twice.map((a) => a.status)).toEqual(twice.map(() => 404));
    const listed = (await call("GET", "/api/user/tokens", bearer(cli))).body.data;
    expect(listed).toEqual([
      { name: "cli@box", via: "cli", created_at: expect.any(Number), tail: cli.slice(-4) },
    ]);
  });

  it("reads a profile of before names as the token `default`, kept by the first new one", async () => {
    const user = await account();
    const legacy = `sat-legacy${unique("")}`;
    // What a profile of before names holds: one hash, and the link without a name.
    await core.table.update(
      { pk: `USER#${user.id}`, sk: "PROFILE" },
      {
        update: "SET accessTokenHash = :hash REMOVE accessTokens",
        values: { ":hash": hashSecret(legacy) },
      },
    );
    await core.table.put({ pk: `ACCESS#${hashSecret(legacy)}`, sk: "ACCESS", userId: user.id });
    core.services.auth.forgetAll();
    // The token's shape is one the check tags never issued: it is read straight from the store.
    const { current } = await core.services.users.findByAccessToken(legacy);
    expect(current?.id).toBe(user.id);
    const cli = await issue(user.username, "cli@old");
    expect(cli.status).toBe(200);
    const { current: still } = await core.services.users.findByAccessToken(legacy);
    expect(still?.id).toBe(user.id);
    const names = (await call("GET", "/api/user/tokens", bearer(cli.body.data.token))).body.data;
    expect(names.map((t: Json) => [t.name, t.via])).toEqual([
      ["default", "legacy"],
      ["cli@old", "cli"],
    ]);
    expect(
      await call("DELETE", "/api/user/tokens/default", bearer(cli.body.data.token)),
    ).toMatchObject({ status: 200 });
    expect((await core.services.users.findByAccessToken(legacy)).current).toBeUndefined();
  });

  it("minted in a burst beside a password change, none is alive after it", async () => {
    const user = await account();
    const intruder = await signIn(user.username);
    const cli = (await issue(user.username, "cli@box")).body.data.token as string;
    const calls: (() => Promise<{ status: number; body: Json }>)[] = Array.from(
      { length: 20 },
      (_, i) => () => call("POST", "/api/user/tokens", intruder, { name: `burst-${i % 5}` }),
    );
    calls.splice(10, 0, () =>
      call("PUT", "/api/user/self", bearer(user.token), {
        password: PASSWORD,
        new_password: "a whole new password",
      }),
    );
    const answers = await Promise.all(calls.map((start) => start()));
    const change = answers[10];
    expect(change?.status).toBe(200);
    expect(change?.body.data).toMatchObject({ sessions_ended: true, access_token_revoked: true });
    expect(change?.body.data).not.toHaveProperty("access_token");
    const mints = answers.filter((_, i) => i !== 10);
    // Before the change: minted (and revoked by it); after: the session has ended.
    expect(mints.filter((a) => a.status !== 200 && a.status !== 401)).toEqual([]);
    const tokens = [
      user.token,
      cli,
      ...mints.filter((a) => a.status === 200).map((a) => a.body.data.token),
    ];
    const after = await Promise.all(tokens.map(selfStatus));
    expect(after).toEqual(tokens.map(() => 401));
    expect(mints.some((a) => a.status === 200)).toBe(true);
  });

  it("refuses bad names, and a wrong password without saying whether the user exists", async () => {
    const user = await account();
    for (const name of ["", " x", "a/b", "x".repeat(65), "ünï"]) {
      const answer = await issue(user.username, name);
      expect(answer.status, name).toBe(400);
    }
    const [wrong, nobody] = await Promise.all([
      issue(user.username, "cli@x", "not the password"),
      issue(unique("nobody"), "cli@x"),
    ]);
    expect(wrong.status).toBe(401);
    expect(nobody.status).toBe(401);
    expect(wrong.body.message).toBe(nobody.body.message);
  });
});
