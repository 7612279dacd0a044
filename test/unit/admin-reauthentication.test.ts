/**
 * An admin's stolen console session cannot leave its thief credentials that outlive the
 * admin's next password change: creating a user (answered with their access token), making
 * one an admin, resetting another's password and making a key for another user take the
 * admin's current password (`current_password`, counted like a sign-in), or a session that
 * signed in within SLUICE_RECENT_SIGN_IN_SECONDS. An access token is not asked, except to put
 * another e-mail address on its account (reset links go there). Every admin
 * here is a fresh one, made with the site's first admin token. The API runs in-process on
 * DynamoDB in memory (fixtures/core.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { hashSecret } from "../../shared/auth/secrets";
import { StaleCredentials } from "../../shared/store/users";
import { type Core, startCore, viewer } from "../fixtures/core";

// biome-ignore lint/suspicious/noExplicitAny: JSON read by tests; every field used is asserted.
type Json = any;

let core: Core;
beforeAll(async () => {
  // A public origin, so that sign-in with GitHub can be switched on (linking, below).
  core = await startCore({ env: { SLUICE_PUBLIC_ORIGIN: "https://site.example" } });
});

/** Calls the management API with a bearer token. */
async function api(token: string, method: string, path: string, body?: unknown) {
  const answer = await core.call(method, path, {
    headers: { authorization: `Bearer ${token}` },
    body,
  });
  return { status: answer.status, body: answer.body };
}

/** The same, as the site's first admin; fails the test unless the call succeeds. */
async function admin(method: string, path: string, body?: unknown): Promise<Json> {
  const answer = await api(core.admin.accessToken, method, path, body);
  if (answer.status !== 200 || answer.body?.success !== true) {
    throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body.data;
}

const PASSWORD = "correct horse battery";

interface Answer {
  status: number;
  body: Json;
}

const unique = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

/** A user (or admin) who signs in with PASSWORD, and the access token the admin was shown. */
async function account(role: "user" | "admin" = "user") {
  const username = unique(role === "admin" ? "adm" : "mem");
  const created = await admin("POST", "/api/user", { username, password: PASSWORD, role });
  return { id: created.id as string, username, token: created.access_token as string };
}

/** A console session; `from` sends its calls as from that viewer address (as the CDN would). */
class Session {
  constructor(
    readonly cookie: string,
    readonly csrf: string,
  ) {}

  async call(method: string, path: string, body?: unknown, from?: string): Promise<Answer> {
    const answer = await core.call(method, path, {
      headers: { cookie: this.cookie, "x-csrf-token": this.csrf, ...(from ? viewer(from) : {}) },
      body,
    });
    return { status: answer.status, body: answer.body };
  }

  /** Moves its sign-in back in time, as if it had signed in `seconds` ago. */
  async age(seconds: number): Promise<this> {
    await core.table.update(
      { pk: `SESSION#${hashSecret(this.cookie.slice("sluice_session=".length))}`, sk: "SESSION" },
      {
        update: "SET signedInAt = :at",
        values: { ":at": Math.floor(Date.now() / 1000) - seconds },
      },
    );
    return this;
  }
}

async function signIn(username: string, password = PASSWORD): Promise<Session> {
  const answer = await core.call("POST", "/api/user/login", { body: { username, password } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const cookie = (answer.cookies[0] as string).split(";")[0] as string;
  return new Session(cookie, answer.body.data.csrf_token);
}

/**
 * The four changes, each with `extra` fields in its body (a password), against fresh targets:
 * a new user, a member made admin, another admin's password reset, a key for a member.
 */
async function fourChanges(send: (method: string, path: string, body: Json) => Promise<Answer>) {
  const [member, other, keyOwner] = await Promise.all([account(), account("admin"), account()]);
  const newUser = unique("new");
  const answers = await Promise.all([
    send("POST", "/api/user", { username: newUser, password: "their own password" }),
    send("PUT", `/api/user/${member.id}`, { role: "admin" }),
    send("PUT", `/api/user/${other.id}`, { password: "a password the thief knows" }),
    send("POST", "/api/token", { user_id: keyOwner.id, name: "thief's" }),
  ]);
  return { answers, member, other, keyOwner, newUser };
}

/** What the four changes left: whether each took effect, read with the first admin's token. */
async function effects(made: Awaited<ReturnType<typeof fourChanges>>) {
  const [users, member, keys, otherSignIn] = await Promise.all([
    admin("GET", `/api/user/?keyword=${made.newUser}`),
    admin("GET", `/api/user/${made.member.id}`),
    admin("GET", `/api/token/?user_id=${made.keyOwner.id}`),
    // From an address of its own: a failure (the reset happened) counts on no shared address.
    core
      .call("POST", "/api/user/login", {
        headers: viewer(`198.51.100.${Math.floor(Math.random() * 250) + 1}`),
        body: { username: made.other.username, password: PASSWORD },
      })
      .then((r) => r.status),
  ]);
  return {
    created: (users as Json[]).length === 1,
    promoted: member.role === "admin",
    reset: otherSignIn === 401,
    keyMade: (keys as Json[]).length === 1,
  };
}

const NOTHING = { created: false, promoted: false, reset: false, keyMade: false };
const EVERYTHING = { created: true, promoted: true, reset: true, keyMade: true };

describe("an admin's console session that signed in more than 5 minutes ago", () => {
  it("cannot create a user, promote one, reset another's password or key another user, even in a burst", async () => {
    const me = await account("admin");
    const stolen = await (await signIn(me.username)).age(301);
    const rounds = await Promise.all(
      Array.from({ length: 5 }, () =>
        fourChanges((method, path, body) => stolen.call(method, path, body)),
      ),
    );
    for (const made of rounds) {
      expect(made.answers.map((a) => a.status)).toEqual([403, 403, 403, 403]);
      for (const answer of made.answers) {
        expect(answer.body).toEqual({
          success: false,
          code: "reauthentication_required",
          message: expect.stringMatching(
            /current password \(`current_password`\).*signed in within the last 5 minutes/,
          ),
          params: { field: "current_password", window_seconds: 300, via: "session" },
        });
      }
      expect(await effects(made)).toEqual(NOTHING);
    }
    // Other admin work needs no proof: a group, the name of one already an admin, a key of
    // one's own.
    const member = await account();
    const other = await account("admin");
    expect((await stolen.call("PUT", `/api/user/${member.id}`, { group: "vip" })).status).toBe(200);
    expect(
      (await stolen.call("PUT", `/api/user/${other.id}`, { role: "admin", name: "Other" })).status,
    ).toBe(200);
    expect((await stolen.call("POST", "/api/token", { name: "mine" })).status).toBe(200);
  });

  it("guesses the password no faster than the sign-in form: a burst of wrong ones, counted first", async () => {
    const me = await account("admin");
    const stolen = await (await signIn(me.username)).age(301);
    // From the thief's own address, which the admin never signed in from.
    const from = `203.0.113.${Math.floor(Math.random() * 200) + 20}`;
    const made = await Promise.all(
      Array.from({ length: 5 }, () =>
        fourChanges((method, path, body) =>
          stolen.call(method, path, { ...body, current_password: "a wrong guess" }, from),
        ),
      ),
    );
    const answers = made.flatMap((m) => m.answers);
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((status) => status === 403 || status === 429)).toBe(true);
    const checked = answers.filter((a) => a.status === 403);
    // The username's slowdown: 5 a minute from an address it has not signed in from.
    expect(checked.length).toBeGreaterThan(0);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(checked.every((a) => a.body.message === "The current password is wrong.")).toBe(true);
    for (const m of made) expect(await effects(m)).toEqual(NOTHING);
  });

  it("can do all four with the current password in `current_password`", async () => {
    const me = await account("admin");
    const session = await (await signIn(me.username)).age(301);
    const made = await fourChanges((method, path, body) =>
      session.call(method, path, { ...body, current_password: PASSWORD }),
    );
    expect(made.answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(made.answers[0]?.body.data.access_token).toMatch(/^sat-/);
    expect(await effects(made)).toEqual(EVERYTHING);
  });
});

describe("without the password", () => {
  it("a session that signed in just now does all four", async () => {
    const me = await account("admin");
    const session = await signIn(me.username);
    const made = await fourChanges((method, path, body) => session.call(method, path, body));
    expect(made.answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(await effects(made)).toEqual(EVERYTHING);
  });

  it("an admin's access token does all four (it dies with the password itself)", async () => {
    const me = await account("admin");
    const made = await fourChanges((method, path, body) => api(me.token, method, path, body));
    expect(made.answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(await effects(made)).toEqual(EVERYTHING);
  });

  it("is refused to a session with the code the console asks for the password on", async () => {
    const me = await account("admin");
    const session = await (await signIn(me.username)).age(3_600);
    const member = await account();
    const refused = await session.call("PUT", `/api/user/${member.id}`, {
      password: "a new password",
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe("reauthentication_required");
    // A demotion makes no credential: no proof is asked.
    const other = await account("admin");
    expect((await session.call("PUT", `/api/user/${other.id}`, { role: "user" })).status).toBe(200);
  });
});

describe("an admin's reset or revocation", () => {
  it("lists the user's keys made since their password was last set, masked", async () => {
    const member = await account();
    const made = await api(member.token, "POST", "/api/token", { name: "before the reset" });
    expect(made.status).toBe(200);
    // The next second: a key is reviewed when made at or after the second the password was set.
    await new Promise((resolve) => setTimeout(resolve, 1_050 - (Date.now() % 1_000)));
    const me = await account("admin");
    const reset = await api(me.token, "PUT", `/api/user/${member.id}`, {
      password: "a whole new password",
    });
    expect(reset.status).toBe(200);
    const reviewed = reset.body.data.keys_to_review as Json[];
    expect(reviewed.map((key) => key.id)).toEqual([made.body.data.id]);
    expect(reviewed[0].key).toMatch(/^sk-.{4}….{4}$/);
    expect(reviewed[0].key).not.toBe(made.body.data.key);
    expect(reset.body.message).toMatch(/keys_to_review/);

    // A key made after the reset is the only one a revocation lists.
    const owner = await signIn(member.username, "a whole new password");
    const after = await owner.call("POST", "/api/token", { name: "after the reset" });
    expect(after.status).toBe(200);
    const revoked = await api(me.token, "POST", `/api/user/${member.id}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect((revoked.body.data.keys_to_review as Json[]).map((key) => key.id)).toEqual([
      after.body.data.id,
    ]);
  });
});

describe("a customer's console session that signed in more than 5 minutes ago", () => {
  it("cannot put another e-mail address on the account (reset links would go there) without the password", async () => {
    const me = await account();
    const stolen = await (await signIn(me.username)).age(301);
    const change = (session: Session, extra: Json = {}) =>
      session.call("POST", "/api/user/email", {
        email: "thief@example.test",
        code: "000000",
        ...extra,
      });
    const refused = await Promise.all(Array.from({ length: 5 }, () => change(stolen)));
    for (const answer of refused) {
      expect(answer.status).toBe(403);
      expect(answer.body.code).toBe("reauthentication_required");
    }
    // With the password (or a recent sign-in) the code is what is checked next.
    for (const answer of [
      await change(stolen, { current_password: PASSWORD }),
      await change(await signIn(me.username)),
    ])
      expect(answer.body).toMatchObject({ success: false, code: "verification_code_invalid" });
  });

  it("cannot start linking another sign-in to the account; a recent one can", async () => {
    await admin("PUT", "/api/site/sections/oauth.github", {
      enabled: true,
      client_id: "client",
      client_secret: "secret",
    });
    const me = await account();
    const start = async (session: Session) =>
      (await session.call("GET", "/api/oauth/github/start?intent=link")).status === 302
        ? "to the provider"
        : "refused";
    const stolen = await (await signIn(me.username)).age(301);
    const answer = await core.call("GET", "/api/oauth/github/start?intent=link", {
      headers: { cookie: stolen.cookie },
    });
    expect(answer.headers.location).toBe("/#/settings?error=link_sign_in_again");
    expect(await start(stolen)).toBe("refused");
    expect(await start(await signIn(me.username))).toBe("to the provider");
  });
});

describe("an access token (a CLI's, a script's, or a thief's)", () => {
  it("cannot put another e-mail address on the account without the password", async () => {
    const me = await account();
    const change = (extra: Json = {}) =>
      api(me.token, "POST", "/api/user/email", {
        email: "thief@example.test",
        code: "000000",
        ...extra,
      });
    // A burst, as a thief would send it: every one refused, none reaches the code.
    for (const answer of await Promise.all(Array.from({ length: 8 }, () => change()))) {
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({
        code: "reauthentication_required",
        params: { via: "token", field: "current_password" },
      });
    }
    expect((await change({ current_password: "a guess" })).body.code).toBe(
      "current_password_wrong",
    );
    // With the password, the code is what is checked next.
    expect((await change({ current_password: PASSWORD })).body).toMatchObject({
      success: false,
      code: "verification_code_invalid",
    });
    expect((await api(me.token, "GET", "/api/user/self")).body.data.email ?? "").toBe("");
  });
});

describe("a change proven before a password change that lands first", () => {
  const passwordChange = async (id: string) => {
    const changed = await core.services.users.changeCredentials(id, {
      passwordHash: "scrypt$changed",
    });
    expect(changed.sessionVersion).toBe(1);
  };

  it("an e-mail address is not set (sign in again), nor claimed", async () => {
    const me = await account();
    await passwordChange(me.id);
    const change = core.services.users.changeEmail(me.id, "late@example.test", {
      verified: true,
      ifSessionVersion: 0,
    });
    await expect(change).rejects.toBeInstanceOf(StaleCredentials);
    expect((await core.services.users.get(me.id, true))?.email).toBeUndefined();
    expect(await core.services.emails.owner("late@example.test")).toBeUndefined();
    // At the version it is at now, it is.
    await core.services.users.changeEmail(me.id, "late@example.test", {
      verified: true,
      ifSessionVersion: 1,
    });
    expect(await core.services.emails.owner("late@example.test")).toBe(me.id);
  });

  it("an outside sign-in is not linked, on either side", async () => {
    const me = await account();
    await passwordChange(me.id);
    const identity = { provider: "github", subject: unique("gh"), login: "thief", at: 1 };
    expect(await core.services.identities.link(me.id, identity, 0)).toBe("stale");
    expect(await core.services.identities.userOf("github", identity.subject)).toBeUndefined();
    expect(await core.services.identities.list(me.id)).toEqual([]);
    // Nor for a user disabled since.
    await admin("PUT", `/api/user/${me.id}`, { status: "disabled" });
    expect(await core.services.identities.link(me.id, identity, 1)).toBe("stale");
    await admin("PUT", `/api/user/${me.id}`, { status: "enabled" });
    expect(await core.services.identities.link(me.id, identity, 1)).toBe("linked");
    expect(await core.services.identities.userOf("github", identity.subject)).toBe(me.id);
  });
});
