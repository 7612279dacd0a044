/**
 * Sign-in with GitHub, LINUX DO and OpenID Connect, over HTTP against the run's stack and the
 * demo providers it configured at start (infra/local/demo-identity/: GitHub's and LINUX DO's
 * documented endpoints, faked; a real oidc-provider). Redirects are followed by hand, with the
 * cookies a browser would keep, and tried as an attacker would: a tampered state, no cookie, a
 * replayed code (in a burst), an identity already linked to someone else, an address the
 * provider did not verify, a LINUX DO account below the trust level.
 */
import { describe, expect, it } from "vitest";
import { mailTo, waitForMail } from "./mail-support";
import { admin, type Json, sluice } from "./support";

const unique = () => Math.floor(Math.random() * 1e9) + 1000;

interface Hop {
  status: number;
  location: string;
  cookies: string[];
}

async function hop(url: string, cookie = ""): Promise<Hop> {
  const response = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
  await response.arrayBuffer();
  return {
    status: response.status,
    location: response.headers.get("location") ?? "",
    cookies: response.headers.getSetCookie().map((c) => c.split(";")[0] as string),
  };
}

const cookieOf = (hopped: Hop, name: string) =>
  hopped.cookies.find((c) => c.startsWith(`${name}=`)) ?? "";

/** Starts a sign-in; answers the provider's URL and the state cookie. */
async function start(provider: string, session = "", intent = "login") {
  const started = await hop(`${sluice.url}/api/oauth/${provider}/start?intent=${intent}`, session);
  expect(started.status, started.location).toBe(302);
  return { authorize: started.location, cookie: cookieOf(started, "sluice_oauth") };
}

/** At the provider: the account chosen by its fields; answers the callback URL. */
async function atProvider(authorize: string, account: Record<string, string | number | boolean>) {
  const url = new URL(authorize);
  for (const [name, value] of Object.entries(account)) url.searchParams.set(name, String(value));
  const back = await hop(url.toString());
  expect(back.status).toBe(302);
  return back.location;
}

/** A whole sign-in: where sluice sends the browser at the end, and the session it set. */
async function signInWith(
  provider: string,
  account: Record<string, string | number | boolean>,
  session = "",
) {
  const { authorize, cookie } = await start(provider, session, session ? "link" : "login");
  const callback = await atProvider(authorize, account);
  const done = await hop(callback, [cookie, session].filter(Boolean).join("; "));
  expect(done.status).toBe(303);
  return { location: done.location, session: cookieOf(done, "sluice_session") };
}

async function self(session: string): Promise<Json> {
  const response = await fetch(`${sluice.url}/api/user/self`, { headers: { cookie: session } });
  if (response.status !== 200) throw new Error(`${session}: ${await response.text()}`);
  return ((await response.json()) as Json).data;
}

describe("GitHub sign-in", () => {
  it("registers a new account, and signs the same GitHub account in to it again", async () => {
    const id = unique();
    const first = await signInWith("github", { id, login: `gh${id}` });
    expect(first.location).toBe("/#/dashboard");
    const user = await self(first.session);
    expect(user.username).toBe(`gh${id}`);
    expect(user.has_password).toBe(false);
    // Logins change; the numeric id is the account.
    const again = await signInWith("github", { id, login: `renamed${id}` });
    expect((await self(again.session)).id).toBe(user.id);
    const identities = await fetch(`${sluice.url}/api/user/identities`, {
      headers: { cookie: again.session },
    });
    expect(((await identities.json()) as Json).data).toEqual([
      { provider: "github", login: `gh${id}`, linked_at: expect.any(Number) },
    ]);
  });

  it("refuses a tampered state, a missing cookie and another provider's cookie", async () => {
    const { authorize, cookie } = await start("github");
    const callback = new URL(await atProvider(authorize, { id: unique() }));
    const tampered = new URL(callback);
    tampered.searchParams.set("state", `${callback.searchParams.get("state")}x`);
    const forgedCookie = `sluice_oauth=${cookie.slice("sluice_oauth=".length, -4)}AAAA`;
    const other = await start("linuxdo");
    const answers = await Promise.all([
      hop(tampered.toString(), cookie),
      hop(callback.toString()),
      hop(callback.toString(), forgedCookie),
      hop(callback.toString(), other.cookie),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(303);
      expect(answer.location).toMatch(/^\/#\/login\?error=oauth_state_invalid(&|$)/);
      expect(cookieOf(answer, "sluice_session")).toBe("");
      // The state cookie is cleared whatever happened.
      expect(answer.cookies).toContain("sluice_oauth=");
    }
    // The untouched callback still works: nothing above spent its code.
    const done = await hop(callback.toString(), cookie);
    expect(done.location).toBe("/#/dashboard");
  });

  it("takes a code once: of a burst of replays of one callback, one signs in", async () => {
    const { authorize, cookie } = await start("github");
    const callback = await atProvider(authorize, { id: unique() });
    const answers = await Promise.all(Array.from({ length: 10 }, () => hop(callback, cookie)));
    const signedIn = answers.filter((a) => a.location === "/#/dashboard");
    expect(signedIn).toHaveLength(1);
    expect(
      answers.filter((a) => a.location.startsWith("/#/login?error=oauth_failed&")),
    ).toHaveLength(9);
    expect(answers.filter((a) => cookieOf(a, "sluice_session") !== "")).toHaveLength(1);
  });

  it("links by a verified primary address only, one account per provider", async () => {
    const email = `owner${unique()}@example.test`;
    const owner = await signInWith("github", { id: unique(), email, verified: true });
    expect(owner.location).toBe("/#/dashboard");
    const ownerId = (await self(owner.session)).id;
    // The provider's verified address is the account's, verified: reset links and notices
    // reach it (a sign-up by provider has no password of its own).
    expect(await self(owner.session)).toMatchObject({ email, email_verified: true });
    // Another GitHub account naming the address unverified: a new account, not the owner's.
    const intruder = await signInWith("github", { id: unique(), email, verified: false });
    expect(intruder.location).toBe("/#/dashboard");
    expect((await self(intruder.session)).id).not.toBe(ownerId);
    // One that verified it is refused: the owner has a GitHub account linked already.
    const second = await signInWith("github", { id: unique(), email, verified: true });
    expect(second.location).toMatch(/^\/#\/login\?error=identity_taken(&|$)/);
  });

  it("refuses to link an identity linked to another user", async () => {
    const id = unique();
    await signInWith("github", { id });
    const other = await signInWith("github", { id: unique() });
    const linked = await signInWith("github", { id }, other.session);
    expect(linked.location).toMatch(/^\/#\/settings\?error=identity_taken(&|$)/);
  });
});

describe("linking while signed in", () => {
  /** A user with a password, signed in by it: their session cookie. */
  async function passwordUser() {
    const username = `link${unique()}`;
    const made = await admin("POST", "/api/user/", { username, password: "link test password" });
    const signedIn = await fetch(`${sluice.url}/api/user/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: sluice.url },
      body: JSON.stringify({ username, password: "link test password" }),
    });
    expect(signedIn.status).toBe(200);
    const session = signedIn.headers
      .getSetCookie()
      .map((c) => c.split(";")[0] as string)
      .find((c) => c.startsWith("sluice_session=")) as string;
    return { id: made.id as string, session };
  }

  it("links from a recent sign-in; a password change cancels every link under way", async () => {
    const owner = await passwordUser();
    expect((await signInWith("github", { id: unique() }, owner.session)).location).toBe(
      "/#/settings",
    );
    // Links started from the owner's session (a thief's, say), then the password changes:
    // none of them completes, in a burst or not.
    const started = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const { authorize, cookie } = await start("github", owner.session, "link");
        return { callback: await atProvider(authorize, { id: unique() }), cookie };
      }),
    );
    await admin("PUT", "/api/user/", { id: owner.id, password: "a brand new password" });
    const answers = await Promise.all(
      started.map(({ callback, cookie }) => hop(callback, `${cookie}; ${owner.session}`)),
    );
    for (const answer of answers)
      expect(answer.location).toMatch(/^\/#\/settings\?error=link_sign_in_again(&|$)/);
  });
});

describe("LINUX DO sign-in", () => {
  it("refuses a trust level below the site's minimum, and a silenced account", async () => {
    const low = await signInWith("linuxdo", { id: unique(), trust_level: 0 });
    expect(low.location).toBe("/#/login?error=oauth_trust_level_low&level=0&min=1");
    expect(low.session).toBe("");
    const silenced = await signInWith("linuxdo", { id: unique(), silenced: true });
    expect(silenced.location).toMatch(/^\/#\/login\?error=oauth_account_silenced(&|$)/);
    const ok = await signInWith("linuxdo", {
      id: unique(),
      login: `ld${unique()}`,
      trust_level: 2,
    });
    expect(ok.location).toBe("/#/dashboard");
  });

  it("never links by e-mail: it sends none", async () => {
    const email = `ld${unique()}@example.test`;
    const owner = await signInWith("github", { id: unique(), email, verified: true });
    const linuxdo = await signInWith("linuxdo", { id: unique(), email, trust_level: 2 });
    expect((await self(linuxdo.session)).id).not.toBe((await self(owner.session)).id);
  });
});

describe("OpenID Connect sign-in", () => {
  /** Through oidc-provider's own login and consent pages, with its cookies. */
  async function throughProvider(login: string) {
    const { authorize, cookie } = await start("oidc");
    const jar = new Map<string, string>();
    const keep = (response: Response) => {
      for (const c of response.headers.getSetCookie()) {
        const [pair] = c.split(";");
        const [name, ...value] = (pair as string).split("=");
        jar.set(name as string, value.join("="));
      }
    };
    const header = () => [...jar].map(([n, v]) => `${n}=${v}`).join("; ");
    let url = authorize;
    let form: URLSearchParams | undefined;
    for (let step = 0; step < 12; step++) {
      const response = await fetch(url, {
        redirect: "manual",
        method: form ? "POST" : "GET",
        headers: {
          cookie: header(),
          ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
        },
        body: form?.toString(),
      });
      keep(response);
      form = undefined;
      const location = response.headers.get("location");
      if (location) {
        const next = new URL(location, url);
        if (next.pathname.endsWith("/api/oauth/oidc/callback")) return { callback: next, cookie };
        url = next.toString();
        await response.arrayBuffer();
        continue;
      }
      const html = await response.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      expect(action, html.slice(0, 300)).toBeDefined();
      url = new URL(action as string, url).toString();
      form = html.includes('name="login"')
        ? new URLSearchParams({ prompt: "login", login, password: "any" })
        : new URLSearchParams({ prompt: "consent" });
    }
    throw new Error("the provider never called back");
  }

  it("links by a verified e-mail, and never by an unverified one", async () => {
    // Owners who registered through GitHub with the addresses the OIDC accounts will have.
    const login = `oidc${unique()}`;
    const unverified = `unverified${unique()}`;
    const owners = await Promise.all(
      [login, unverified].map((name) =>
        signInWith("github", { id: unique(), email: `${name}@oidc.test`, verified: true }),
      ),
    );
    const [ownerId, otherId] = await Promise.all(
      owners.map(async (o) => (await self(o.session)).id),
    );
    const { callback, cookie } = await throughProvider(login);
    const done = await hop(callback.toString(), cookie);
    expect(done.location).toBe("/#/dashboard");
    expect((await self(cookieOf(done, "sluice_session"))).id).toBe(ownerId);
    // The owner is told, at their address, what now signs in to their account and where to
    // undo it (after the answer).
    const [told] = (await waitForMail(`${login}@oidc.test`)).filter(
      (mail) => mail.tags.kind === "identity_linked",
    );
    expect(told?.subject).toBe("OpenID Connect sign-in linked to your sluice account");
    expect(told?.text).toContain(`The OpenID Connect account ${login} can now sign in`);
    expect(told?.text).toContain(`${sluice.url}/#/settings`);
    const refused = await throughProvider(unverified);
    const other = await hop(refused.callback.toString(), refused.cookie);
    expect(other.location).toBe("/#/dashboard");
    expect((await self(cookieOf(other, "sluice_session"))).id).not.toBe(otherId);
    // Nothing was linked to the other owner: nothing told.
    expect(
      (await mailTo(`${unverified}@oidc.test`)).filter((m) => m.tags.kind === "identity_linked"),
    ).toEqual([]);
    // The same code again: refused by the provider.
    expect((await hop(callback.toString(), cookie)).location).toMatch(
      /^\/#\/login\?error=oauth_failed(&|$)/,
    );
  });

  it("refuses a callback whose nonce or state is not this browser's", async () => {
    const first = await throughProvider(`oidc${unique()}`);
    const second = await start("oidc");
    // The provider's answer for one sign-in, with the cookie of another: state and nonce differ.
    const answer = await hop(first.callback.toString(), second.cookie);
    expect(answer.location).toMatch(/^\/#\/login\?error=oauth_state_invalid(&|$)/);
  });
});
