import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { startOwnSite as startSluiceSite } from "../fixtures/core";
import { type Json, sluice } from "./support";

/**
 * A console client as a browser is one: a cookie jar of one, the session's CSRF token, the
 * page's Origin on every write, from one loopback address (sign-up and sign-in limits count
 * per address, so a test spreads its clients over 127.0.0.0/8).
 */
export class SiteClient {
  cookie = "";
  csrf = "";

  constructor(
    readonly base: string,
    readonly from = "127.0.0.1",
  ) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json; headers: Record<string, string | string[]> }> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers["content-type"] = "application/json";
    if (method !== "GET") headers.origin = new URL(this.base).origin;
    if (this.cookie) headers.cookie = this.cookie;
    if (method !== "GET" && this.csrf) headers["x-csrf-token"] = this.csrf;
    const answer = await new Promise<{ status: number; text: string; headers: Json }>(
      (resolve, reject) => {
        const req = request(url, { method, headers, localAddress: this.from }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
        });
        req.on("error", reject);
        req.end(payload);
      },
    );
    for (const cookie of (answer.headers["set-cookie"] as string[] | undefined) ?? []) {
      const [pair = ""] = cookie.split(";");
      this.cookie = pair.endsWith("=") ? "" : pair;
    }
    let parsed: Json = answer.text;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      // Not JSON.
    }
    if (parsed?.data?.csrf_token) this.csrf = parsed.data.csrf_token;
    return { status: answer.status, body: parsed, headers: answer.headers };
  }

  signIn(username: string, password: string) {
    return this.call("POST", "/api/user/login", { username, password });
  }
}

export const unique = (prefix: string) =>
  `${prefix}${randomUUID().replaceAll("-", "").slice(0, 10)}`;

/** The i-th loopback address from 127.0.<block>.1 on, so clients do not share an address. */
export const address = (block: number, i: number) => `127.0.${block}.${1 + (i % 250)}`;

export type OwnSite = Awaited<ReturnType<typeof startOwnSite>>;

/**
 * A sluice on a main table of its own (its site options touch no other test), with an admin
 * signed in as `operator`, and `admin(…)` calling the management API as that admin.
 */
export async function startOwnSite(env: Record<string, string> = {}) {
  const site = await startSluiceSite(sluice, { env, adminName: unique("operator") });
  const operator = new SiteClient(site.url);
  const signedIn = await operator.signIn(site.admin.user.username, site.admin.password);
  if (signedIn.status !== 200)
    throw new Error(`the operator could not sign in: ${signedIn.status}`);
  return {
    instance: site,
    tableName: site.tableName,
    operator,
    adminToken: site.admin.accessToken,
    adminUsername: site.admin.user.username,
    adminPassword: site.admin.password,
    close: site.close,
  };
}

/** Registers `username` from a client of its own; the answer. */
export function register(site: OwnSite, fields: Record<string, unknown>, from?: string) {
  return new SiteClient(site.instance.url, from).call("POST", "/api/user/register", {
    password: "correct horse battery",
    ...fields,
  });
}
