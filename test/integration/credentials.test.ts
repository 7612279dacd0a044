/**
 * Credentials die with the password, tried as an intruder would: with a stolen session one
 * mints an access token and a key; the owner changes the password (or an admin resets it, or
 * revokes the user's credentials), and every token and the intruder's session stop working on every
 * management route, here at once and on other instances within their cache TTL. Minting a
 * token takes the password or a recent sign-in, and a mint racing a password change never
 * leaves a token alive.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashSecret } from "../../shared/auth/secrets";
import { spawnApiProcess, startSluiceInstance } from "../fixtures/core";
import { type DynamoFaultProxy, startDynamoFaultProxy } from "../fixtures/dynamo-fault-proxy";
import {
  admin,
  api,
  createUser,
  eventually,
  type Json,
  openai,
  sluice,
  sluiceTable,
} from "./support";

const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a whole new password";

interface Answer {
  status: number;
  body: Json;
}

/** A management call to `base` with these headers (a bearer token, or a session's cookie). */
async function call(
  base: string,
  headers: Record<string, string>,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer & { setCookie: string[] }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...headers,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: Json = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: kept as text.
  }
  return { status: response.status, body: parsed, setCookie: response.headers.getSetCookie() };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A console session: its cookie and CSRF token, on one sluice (the run's unless told). */
class Session {
  constructor(
    public cookie: string,
    public csrf: string,
    readonly base = sluice.url,
  ) {}

  get headers(): Record<string, string> {
    return { cookie: this.cookie, "x-csrf-token": this.csrf };
  }

  /** A call with this session; a new cookie in the answer (a password change) is kept. */
  async call(method: string, path: string, body?: unknown): Promise<Answer> {
    const answer = await call(this.base, this.headers, method, path, body);
    const cookie = answer.setCookie.find((c) => c.startsWith("sluice_session="));
    if (cookie) this.cookie = cookie.split(";")[0] as string;
    if (answer.body?.data?.csrf_token) this.csrf = answer.body.data.csrf_token;
    return answer;
  }

  /** The same session as it was: a copy that keeps its old cookie. */
  copy(): Session {
    return new Session(this.cookie, this.csrf, this.base);
  }

  get token(): string {
    return this.cookie.slice("sluice_session=".length);
  }
}

async function signIn(username: string, password = PASSWORD, base = sluice.url) {
  const answer = await call(base, {}, "POST", "/api/user/login", { username, password });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const cookie = (answer.setCookie[0] as string).split(";")[0] as string;
  return new Session(cookie, answer.body.data.csrf_token, base);
}

/** A named token for the CLI, by the password (POST /api/user/tokens/issue). */
async function issueToken(username: string, password: string, base = sluice.url) {
  const answer = await call(base, {}, "POST", "/api/user/tokens/issue", {
    username,
    password,
    name: "cli@test",
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.data.token as string;
}

/** A user who signs in with a password, and the access token the admin's answer showed. */
async function userWithPassword(role: "user" | "admin" = "user") {
  const username = `cred${Math.random().toString(36).slice(2, 10)}`;
  const created = await admin("POST", "/api/user", { username, password: PASSWORD, role });
  return { id: created.id as string, username, token: created.access_token as string };
}

/**
 * Every management route a credential could be used on, reads and writes; the password is the
 * right one (the old one, as an intruder who learnt it before the change would send).
 */
const ROUTES: [string, string, unknown?][] = [
  ["GET", "/api/user/self"],
  ["GET", "/api/user/stat"],
  ["GET", "/api/token/"],
  ["POST", "/api/token/", { name: "another" }],
  ["GET", "/api/log/self"],
  ["GET", "/api/log/self/stat"],
  ["GET", "/api/usage/self?days=7"],
  ["GET", "/api/pricing"],
  ["POST", "/api/user/token", { password: PASSWORD }],
  ["PUT", "/api/user/self", { name: "taken over" }],
  ["PUT", "/api/user/self", { password: PASSWORD, new_password: "the intruder's own" }],
  ["POST", "/api/user/topup", { key: "not-a-code" }],
];

/** The status of every route in ROUTES with these headers, all sent at once. */
async function statusesOn(headers: Record<string, string>, base = sluice.url) {
  const answers = await Promise.all(
    ROUTES.map(([method, path, body]) => call(base, headers, method, path, body)),
  );
  for (const answer of answers.filter((a) => a.status === 401))
    expect(answer.body).toMatchObject({ success: false, message: expect.any(String) });
  return answers.map((answer) => answer.status);
}

const allRefused = ROUTES.map(() => 401);
const selfStatus = async (headers: Record<string, string>, base = sluice.url) =>
  (await call(base, headers, "GET", "/api/user/self")).status;

/** Moves a session's sign-in back in time, as if it had signed in `seconds` ago. */
async function ageSession(session: Session, seconds: number | null) {
  const key = { pk: `SESSION#${hashSecret(session.token)}`, sk: "SESSION" };
  await sluiceTable().update(
    key,
    seconds === null
      ? { update: "REMOVE signedInAt" }
      : {
          update: "SET signedInAt = :at",
          values: { ":at": Math.floor(Date.now() / 1000) - seconds },
        },
  );
}

describe("a password change", () => {
  it("kills the tokens and session an intruder held, and every token of the owner's", async () => {
    const owner = await userWithPassword();
    const intruder = await signIn(owner.username);
    // A fresh session mints a token without the password, and makes a key.
    const minted = await intruder.call("POST", "/api/user/token", {});
    expect(minted.status).toBe(200);
    const stolenToken = minted.body.data as string;
    const key = await intruder.call("POST", "/api/token/", { name: "intruder's" });
    expect(key.status).toBe(200);
    expect(await selfStatus(bearer(stolenToken))).toBe(200);
    const stolenSession = intruder.copy();

    const browser = await signIn(owner.username);
    const changed = await browser.call("PUT", "/api/user/self", {
      password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({
      id: owner.id,
      sessions_ended: true,
      access_token_revoked: true,
    });
    expect(changed.body.data).not.toHaveProperty("access_token");
    expect(changed.body.message).toMatch(/every system access token is revoked/);
    // The intruder's key is listed for review, masked; it is not deleted.
    const review = changed.body.data.keys_to_review as Json[];
    expect(review.map((k) => k.id)).toEqual([key.body.data.id]);
    expect(review[0].key).not.toBe(key.body.data.key);
    expect(review[0].key).toMatch(/^sk-.{4}….{4}$/);

    expect(await statusesOn(bearer(stolenToken))).toEqual(allRefused);
    expect(await statusesOn(stolenSession.headers)).toEqual(allRefused);
    expect(await statusesOn(bearer(owner.token))).toEqual(allRefused);
    // The browser's new session works and mints anew; the old password does not sign in.
    expect(await selfStatus(browser.headers)).toBe(200);
    const newToken = await browser.call("POST", "/api/user/token", { password: NEW_PASSWORD });
    expect(await selfStatus(bearer(newToken.body.data))).toBe(200);
    const old = await call(sluice.url, {}, "POST", "/api/user/login", {
      username: owner.username,
      password: PASSWORD,
    });
    expect(old.status).toBe(401);
    // Keys are the customer's apps: they keep working until the owner deletes them.
    const models = await openai(key.body.data.key).models.list();
    expect(models.data.length).toBeGreaterThan(0);
  });

  it("made with an access token alone revokes that one too; the script signs in anew", async () => {
    const owner = await userWithPassword();
    const changed = await api(owner.token, "PUT", "/api/user/self", {
      password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(changed.status).toBe(200);
    expect(changed.body.data).not.toHaveProperty("access_token");
    expect(await selfStatus(bearer(owner.token))).toBe(401);
    const next = await issueToken(owner.username, NEW_PASSWORD);
    expect(await selfStatus(bearer(next))).toBe(200);
    // A wrong current password changes nothing.
    const wrong = await api(next, "PUT", "/api/user/self", {
      password: PASSWORD,
      new_password: "yet another password",
    });
    expect(wrong.status).toBe(403);
    expect(await selfStatus(bearer(next))).toBe(200);
  });
});

describe("an admin", () => {
  it("resets a password: the user's sessions and token die, and the admin gets no token", async () => {
    const victim = await userWithPassword();
    const intruder = await signIn(victim.username);
    const stolenToken = (await intruder.call("POST", "/api/user/token", {})).body.data as string;
    expect(await selfStatus(bearer(stolenToken))).toBe(200);

    const reset = await api(sluice.adminToken, "PUT", `/api/user/${victim.id}`, {
      password: NEW_PASSWORD,
    });
    expect(reset.status).toBe(200);
    expect(reset.body.data).toMatchObject({
      id: victim.id,
      sessions_ended: true,
      access_token_revoked: true,
    });
    expect(reset.body.data).not.toHaveProperty("access_token");
    expect(reset.body.message).toMatch(/revoked/);
    expect(JSON.stringify(reset.body)).not.toMatch(/sat-/);

    expect(await statusesOn(bearer(stolenToken))).toEqual(allRefused);
    expect(await statusesOn(intruder.headers)).toEqual(allRefused);
    // The user signs in with the new password and makes a token of their own.
    const owner = await signIn(victim.username, NEW_PASSWORD);
    const fresh = await owner.call("POST", "/api/user/token", {});
    expect(fresh.status).toBe(200);
    expect(await selfStatus(bearer(fresh.body.data))).toBe(200);
  });

  it("changes their own password in Settings only, where the current one is asked", async () => {
    const second = await userWithPassword("admin");
    const refused = await api(second.token, "PUT", `/api/user/${second.id}`, {
      password: NEW_PASSWORD,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/Settings/);
    expect(await selfStatus(bearer(second.token))).toBe(200);
    expect((await signIn(second.username)).cookie).toMatch(/^sluice_session=/);
  });

  it("revokes a user's sessions and token (not their keys); others may not", async () => {
    const user = await userWithPassword();
    const browser = await signIn(user.username);
    const token = (await browser.call("POST", "/api/user/token", {})).body.data as string;
    const key = (await browser.call("POST", "/api/token/", { name: "app" })).body.data;

    const other = await createUser();
    const notAdmin = await api(other.accessToken, "POST", `/api/user/${user.id}/revoke`, {});
    expect(notAdmin.status).toBe(403);
    expect(await selfStatus(bearer(token))).toBe(200);
    const unknown = await api(sluice.adminToken, "POST", "/api/user/user_nobody/revoke", {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.success).toBe(false);

    const revoked = await api(sluice.adminToken, "POST", `/api/user/${user.id}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect(revoked.body.data).toMatchObject({
      id: user.id,
      sessions_ended: true,
      access_token_revoked: true,
    });
    expect(await statusesOn(bearer(token))).toEqual(allRefused);
    expect(await statusesOn(browser.headers)).toEqual(allRefused);
    expect((await openai(key.key).models.list()).data.length).toBeGreaterThan(0);
    // The password still signs in, to a session of the new version.
    expect(await selfStatus((await signIn(user.username)).headers)).toBe(200);
  });
});

describe("minting an access token", () => {
  it("takes the password when the caller has only a token, never the token alone", async () => {
    const user = await userWithPassword();
    // The owner signs in from here once: this (username, address) is trusted from then on.
    await signIn(user.username);
    // The token's thief, from an address of their own (as through the CloudFront domain).
    const thief = {
      ...bearer(user.token),
      "x-sluice-origin-verify": sluice.originSecret,
      "cloudfront-viewer-address": "203.0.113.77:443",
    };
    const mint = (body: unknown) => call(sluice.url, thief, "POST", "/api/user/token", body);
    const [bare, guesses] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, () => mint({}))),
      Promise.all([
        ...Array.from({ length: 10 }, () => mint({ password: "" })),
        ...Array.from({ length: 10 }, () => mint({ password: "not the password" })),
      ]),
    ]);
    expect(bare.map((a) => a.status)).toEqual(bare.map(() => 403));
    expect(bare[0]?.body.message).toMatch(/current password.*an access token may not/);
    // Every password sent is a sign-in attempt of the username from the thief's address,
    // counted before it is checked: no more are checked than the username's slowdown lets.
    const statuses = guesses.map((a) => a.status);
    expect(statuses.every((status) => status === 403 || status === 429)).toBe(true);
    const checked = guesses.filter((a) => a.status === 403);
    expect(checked.length).toBeGreaterThan(0);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(checked.every((a) => a.body.message === "The current password is wrong.")).toBe(true);
    expect(await selfStatus(bearer(user.token))).toBe(200);

    // The owner, from their own address, is not kept out by the thief's guesses; the new
    // console token leaves the user's other tokens alone.
    const minted = await api(user.token, "POST", "/api/user/token", { password: PASSWORD });
    expect(minted.status).toBe(200);
    expect(await selfStatus(bearer(minted.body.data))).toBe(200);
    expect(await selfStatus(bearer(user.token))).toBe(200);
  });

  it("takes the password from a session that signed in more than a few minutes ago", async () => {
    const user = await userWithPassword();
    const stale = await signIn(user.username);
    await ageSession(stale, 301);
    const older = await signIn(user.username);
    await ageSession(older, null); // a session from before sign-in times were kept
    for (const session of [stale, older]) {
      const refused = await Promise.all(
        Array.from({ length: 10 }, () => session.call("POST", "/api/user/token", {})),
      );
      expect(refused.map((a) => a.status)).toEqual(refused.map(() => 403));
      expect(refused[0]?.body.message).toMatch(/signed in within the last 5 minutes/);
    }
    expect(await selfStatus(bearer(user.token))).toBe(200);
    // The sessions still work; with the password they mint.
    const minted = await stale.call("POST", "/api/user/token", { password: PASSWORD });
    expect(minted.status).toBe(200);
    expect(await selfStatus(bearer(minted.body.data))).toBe(200);
  });

  it("is refused to an account without a password", async () => {
    const user = await createUser();
    const refused = await api(user.accessToken, "POST", "/api/user/token", { password: "x" });
    expect(refused.status).toBe(403);
    const none = await api(user.accessToken, "POST", "/api/user/token", {});
    expect(none.status).toBe(403);
    expect(none.body.message).toMatch(/no password/);
    expect(await selfStatus(bearer(user.accessToken))).toBe(200);
  });

  it("in a burst beside a password change leaves no token minted before it alive", async () => {
    let mintedInAll = 0;
    for (const position of [0, 15, 30]) {
      const owner = await userWithPassword();
      const intruder = await signIn(owner.username);
      const browser = await signIn(owner.username);
      const calls: (() => Promise<Answer>)[] = Array.from(
        { length: 30 },
        () => () => intruder.call("POST", "/api/user/token", {}),
      );
      calls.splice(position, 0, () =>
        browser.call("PUT", "/api/user/self", { password: PASSWORD, new_password: NEW_PASSWORD }),
      );
      const answers = await Promise.all(calls.map((start) => start()));
      const change = answers[position] as Answer;
      expect(change.status).toBe(200);
      const mints = answers.filter((_, i) => i !== position);
      // A mint either landed before the change (and its token is revoked) or is refused.
      expect(mints.filter((a) => a.status !== 200 && a.status !== 401)).toEqual([]);
      const minted = mints.filter((a) => a.status === 200).map((a) => a.body.data as string);
      mintedInAll += minted.length;
      const after = await Promise.all(minted.map((token) => selfStatus(bearer(token))));
      expect(after).toEqual(minted.map(() => 401));
      expect(await selfStatus(bearer(owner.token))).toBe(401);
      expect(await selfStatus(intruder.headers)).toBe(401);
    }
    // The race was run: some mints landed before the changes did.
    expect(mintedInAll).toBeGreaterThan(0);
  }, 60_000);
});

describe("a mint whose write arrives after a password change", () => {
  let proxy: DynamoFaultProxy;
  let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
  beforeAll(async () => {
    proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    instance = await startSluiceInstance(sluice, {
      dynamoEndpoint: proxy.endpoint,
      // The held write must not be given up and sent again while the password changes.
      env: { SLUICE_DYNAMODB_TIMEOUT_MS: "60000" },
    });
  });
  afterAll(async () => {
    await instance.close();
    await proxy.close();
  });

  it("is refused, though its session was signed in and recent when it was checked", async () => {
    const owner = await userWithPassword();
    const intruder = await signIn(owner.username, PASSWORD, instance.url);
    // The intruder's mint has proved who it is; its token's write waits on the way.
    proxy.inject({
      match: ({ operation, body }) =>
        operation === "UpdateItem" &&
        JSON.stringify(body.Key).includes(`USER#${owner.id}`) &&
        String(body.UpdateExpression).includes("tokenVersion") &&
        !String(body.UpdateExpression).includes("passwordHash"),
      fault: { kind: "freeze" },
    });
    const mint = intruder.call("POST", "/api/user/token", {});
    await eventually(
      async () => proxy.held,
      (held) => held === 1,
    );
    const changed = await (await signIn(owner.username)).call("PUT", "/api/user/self", {
      password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(changed.status).toBe(200);
    proxy.thaw();
    const late = await mint;
    expect(late.status).toBe(401);
    expect(late.body.message).toMatch(/password was changed/);
    // No token of the intruder's is current: the profile holds none at all.
    const profile = await sluiceTable().get<Json>({ pk: `USER#${owner.id}`, sk: "PROFILE" }, true);
    expect(profile.accessTokens).toEqual({});
    expect(profile).not.toHaveProperty("accessTokenHash");
  });
});

describe("a sign-in whose session write lands but whose answer is lost", () => {
  let proxy: DynamoFaultProxy;
  let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
  beforeAll(async () => {
    proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    instance = await startSluiceInstance(sluice, { dynamoEndpoint: proxy.endpoint });
  });
  afterAll(async () => {
    await instance.close();
    await proxy.close();
  });

  it("signs in once: the retry finds its own session, and the cookie works", async () => {
    const owner = await userWithPassword();
    const sessionPuts = (request: { operation: string; body: Record<string, unknown> }) =>
      request.operation === "PutItem" &&
      JSON.stringify(request.body.Item).includes('"pk":{"S":"SESSION#');
    proxy.inject({ match: sessionPuts, fault: { kind: "drop-answer" } });
    const session = await signIn(owner.username, PASSWORD, instance.url);
    // The write was sent twice (the second after the first's answer was lost).
    expect(proxy.log.filter(sessionPuts)).toHaveLength(2);
    expect(await selfStatus(session.headers, instance.url)).toBe(200);
  });
});

describe("revocation on instances that cache credentials", () => {
  let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
  beforeAll(async () => {
    // Credentials cached for 10 minutes: only what the instance learns can end them sooner.
    instance = await startSluiceInstance(sluice, { env: { SLUICE_CACHE_TTL_MS: "600000" } });
  });
  afterAll(() => instance.close());

  it("forgets at once on the instance that made the change", async () => {
    const owner = await userWithPassword();
    const session = await signIn(owner.username, PASSWORD, instance.url);
    const other = await signIn(owner.username, PASSWORD, instance.url);
    expect(await selfStatus(bearer(owner.token), instance.url)).toBe(200);
    expect(await selfStatus(other.headers, instance.url)).toBe(200);
    const changed = await session.call("PUT", "/api/user/self", {
      password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(changed.status).toBe(200);
    expect(await statusesOn(bearer(owner.token), instance.url)).toEqual(allRefused);
    expect(await statusesOn(other.headers, instance.url)).toEqual(allRefused);

    // An admin's revocation made there, too.
    const token = await issueToken(owner.username, NEW_PASSWORD, instance.url);
    expect(await selfStatus(bearer(token), instance.url)).toBe(200);
    expect(await selfStatus(session.headers, instance.url)).toBe(200);
    const revoked = await call(
      instance.url,
      bearer(sluice.adminToken),
      "POST",
      `/api/user/${owner.id}/revoke`,
    );
    expect(revoked.status).toBe(200);
    expect(await selfStatus(bearer(token), instance.url)).toBe(401);
    expect(await selfStatus(session.headers, instance.url)).toBe(401);
  });

  it("ends a token and session changed elsewhere as soon as it reads the user's new ones", async () => {
    const owner = await userWithPassword();
    const intruder = await signIn(owner.username, PASSWORD, instance.url);
    expect(await selfStatus(bearer(owner.token), instance.url)).toBe(200);
    expect(await selfStatus(intruder.headers, instance.url)).toBe(200);
    const changed = await api(owner.token, "PUT", "/api/user/self", {
      password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(changed.status).toBe(200);
    // The change was made on the run's sluice: this instance still holds what it cached…
    expect(await selfStatus(bearer(owner.token), instance.url)).toBe(200);
    expect(await selfStatus(intruder.headers, instance.url)).toBe(200);
    // …until the owner's new token is used here: its user record carries the new versions.
    const token = await issueToken(owner.username, NEW_PASSWORD);
    expect(await selfStatus(bearer(token), instance.url)).toBe(200);
    expect(await statusesOn(bearer(owner.token), instance.url)).toEqual(allRefused);
    expect(await statusesOn(intruder.headers, instance.url)).toEqual(allRefused);
  });
});

describe("another API process", () => {
  let child: ChildProcess;
  let url: string;
  beforeAll(async () => {
    ({ child, url } = await spawnApiProcess(sluice, {
      env: { SLUICE_CACHE_TTL_MS: "2000", SLUICE_LOG_LEVEL: "WARN" },
    }));
  });
  afterAll(() => {
    child.kill();
  });

  it("refuses a token and a session ended elsewhere once its cache TTL has passed", async () => {
    const owner = await userWithPassword();
    const intruder = await signIn(owner.username, PASSWORD, url);
    expect(await selfStatus(bearer(owner.token), url)).toBe(200);
    expect(await selfStatus(intruder.headers, url)).toBe(200);
    const changed = await api(owner.token, "PUT", "/api/user/self", {
      password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(changed.status).toBe(200);
    await eventually(
      () => selfStatus(bearer(owner.token), url),
      (status) => status === 401,
      15_000,
    );
    await eventually(
      () => selfStatus(intruder.headers, url),
      (status) => status === 401,
      15_000,
    );
    expect(await statusesOn(bearer(owner.token), url)).toEqual(allRefused);
    expect(await statusesOn(intruder.headers, url)).toEqual(allRefused);
  }, 40_000);
});
