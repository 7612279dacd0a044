/**
 * `sluice whoami`, and the CLI's own credential: `login` mints a named access token
 * (`cli@<host>`) with the password and stores it (credentials.ts); a token the console makes
 * is another name and never replaces it. `logout` revokes it and forgets it; `tokens` lists
 * and revokes the user's named tokens.
 */
import { hostname } from "node:os";
import { envelope } from "../api";
import { UsageError } from "../args";
import { type Commands, needArg, segment } from "../command";
import {
  credentialsPath,
  NotSignedIn,
  readCredentials,
  siteUrl,
  writeCredentials,
} from "../credentials";
import { readSecret } from "../secrets";
import { USER_COLUMNS } from "./users";

/** The URL `login` and `logout` are about: --url, SLUICE_URL, else the only one stored. */
function loginUrl(given: string | undefined, env: Record<string, string | undefined>): string {
  const url = given ?? env.SLUICE_URL;
  if (url) return siteUrl(url);
  const stored = Object.keys(readCredentials(env));
  if (stored.length === 1) return stored[0] as string;
  throw new UsageError("Say which sluice with --url (or SLUICE_URL).");
}

export const auth: Commands = {
  login: {
    summary: "sign in with your password; the CLI keeps a token of its own (cli@<host>)",
    usage: "sluice login --username N [--url U] [--name TOKEN-NAME] [--password-stdin]",
    options: {
      username: { type: "string" },
      name: { type: "string" },
      // The password is always read from stdin (typed at a prompt on a terminal); the flag
      // says so explicitly in scripts.
      "password-stdin": { type: "boolean", default: false },
    },
    maxArgs: 0,
    run: async (ctx) => {
      const url = loginUrl(ctx.string("url"), ctx.io.env);
      const username = ctx.string("username");
      if (!username) throw new UsageError("login needs --username.");
      const name = ctx.string("name") ?? `cli@${hostname()}`;
      const password = await readSecret(ctx.io, "Password");
      let response: Response;
      try {
        response = await ctx.io.fetch(`${url}/api/user/tokens/issue`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username, password, name }),
        });
      } catch (err) {
        const cause = (err as { cause?: { message?: string } }).cause?.message;
        throw new Error(`Cannot reach ${url}: ${cause ?? (err as Error).message}`);
      }
      const issued = (await envelope(response, "sluice login")).data;
      const file = readCredentials(ctx.io.env);
      file[url] = { token: issued.token, name: issued.name, user: issued.username };
      writeCredentials(ctx.io.env, file);
      if (ctx.options.json)
        return ctx.print({ url, name: issued.name, username: issued.username, role: issued.role });
      ctx.line(
        `Signed in to ${url} as ${issued.username} (${issued.role}). The token ${issued.name} is stored in ${credentialsPath(ctx.io.env)}.`,
      );
    },
  },
  logout: {
    summary: "revoke the CLI's stored token and forget it",
    usage: "sluice logout [--url U]",
    options: {},
    maxArgs: 0,
    run: async (ctx) => {
      const url = loginUrl(ctx.string("url"), ctx.io.env);
      const file = readCredentials(ctx.io.env);
      const entry = file[url];
      if (!entry) throw new NotSignedIn(`No token is stored for ${url}.`);
      const response = await ctx.io
        .fetch(`${url}/api/user/tokens/${segment(entry.name)}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${entry.token}` },
        })
        .catch(() => undefined);
      // Revoked already (a password change ends them all), or the site is gone: forgotten all the same.
      const revoked = response?.ok === true;
      delete file[url];
      writeCredentials(ctx.io.env, file);
      if (ctx.options.json) return ctx.print({ url, name: entry.name, revoked });
      ctx.line(
        revoked
          ? `Signed out of ${url}: the token ${entry.name} is revoked and forgotten.`
          : `Forgot the token ${entry.name} for ${url} (the server did not revoke it: it was revoked already, or could not be reached).`,
      );
    },
  },
  whoami: {
    summary: "the user the token belongs to",
    usage: "sluice whoami",
    options: {},
    maxArgs: 0,
    run: async (ctx) => ctx.print(await ctx.call("GET", "/api/user/self"), USER_COLUMNS),
  },
  "tokens list": {
    summary: "your named access tokens (the console's, the CLI's, scripts')",
    usage: "sluice tokens list",
    options: {},
    maxArgs: 0,
    run: async (ctx) =>
      ctx.print(await ctx.call("GET", "/api/user/tokens"), ["name", "via", "created_at", "tail"]),
  },
  "tokens revoke": {
    summary: "revoke one of your access tokens by name, at once",
    usage: "sluice tokens revoke <name>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const name = needArg(ctx, "a token's name (from `sluice tokens list`)", "tokens revoke");
      await ctx.call("DELETE", `/api/user/tokens/${segment(name)}`);
      if (ctx.options.json) return ctx.print({ name, revoked: true });
      ctx.line(`Revoked the token ${name}.`);
    },
  },
};
