/**
 * Where the CLI's URL and token come from. The CLI keeps its own credential, minted by
 * `sluice login`, in $XDG_CONFIG_HOME/sluice/credentials.json (else ~/.config/…), one entry
 * per URL, written 0600 in a 0700 directory: a token the console makes never replaces it.
 *
 * Precedence: the token of --token > SLUICE_ADMIN_TOKEN > the stored entry for the URL >
 * .sluice/local.json (npm start's, for its own URL only); the URL of --url > SLUICE_URL > the
 * only stored entry > .sluice/local.json.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** One stored credential: a named access token of `user` on the site at its URL. */
export interface StoredCredential {
  token: string;
  /** The token's name on the server (`cli@<host>`), and its id there when it has one. */
  name: string;
  id?: string;
  user: string;
}

export type CredentialFile = Record<string, StoredCredential>;

/** Where the token in use came from: it decides what a 401 advises. */
export type TokenSource = "option" | "env" | "stored" | "local";

export interface Connection {
  url: string;
  token: string;
  source: TokenSource;
}

/** No URL or no token to call the API with: exit code 3. */
export class NotSignedIn extends Error {}

export function credentialsPath(env: Record<string, string | undefined>): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "sluice", "credentials.json");
}

/** The stored credentials; an unreadable file is a sentence, not a stack. */
export function readCredentials(env: Record<string, string | undefined>): CredentialFile {
  const path = credentialsPath(env);
  if (!existsSync(path)) return {};
  try {
    const file = JSON.parse(readFileSync(path, "utf8"));
    if (file && typeof file === "object" && !Array.isArray(file)) return file as CredentialFile;
  } catch {
    // Reported below.
  }
  throw new NotSignedIn(`${path} is not a credentials file: delete it and run \`sluice login\`.`);
}

/** Writes the file whole (a rename, so a crash never leaves half of it), 0600 in a 0700 dir. */
export function writeCredentials(env: Record<string, string | undefined>, file: CredentialFile) {
  const path = credentialsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync's mode applies only to a file it creates; an old one keeps its own.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** "http://x/" and "http://x" are one site. */
export const siteUrl = (url: string) => url.replace(/\/+$/, "");

function localState(): { url?: string; adminToken?: string } {
  if (!existsSync(".sluice/local.json")) return {};
  try {
    return JSON.parse(readFileSync(".sluice/local.json", "utf8"));
  } catch {
    return {};
  }
}

export function connection(
  options: { url?: unknown; token?: unknown },
  env: Record<string, string | undefined>,
): Connection {
  const stored = readCredentials(env);
  const entries = Object.keys(stored);
  const local = localState();
  const given = (options.url as string | undefined) ?? env.SLUICE_URL;
  const url = siteUrl(given ?? (entries.length === 1 ? entries[0] : local.url) ?? "");
  if (!url) {
    throw new NotSignedIn(
      entries.length > 1
        ? `Not signed in: credentials are stored for ${entries.join(", ")}; say which with --url.`
        : "Not signed in: run `sluice login --url URL` (or give --url and --token, or run `npm start` first).",
    );
  }
  const option = options.token as string | undefined;
  const candidates: [string | undefined, TokenSource][] = [
    [option, "option"],
    [env.SLUICE_ADMIN_TOKEN, "env"],
    [stored[url]?.token, "stored"],
    [local.url && siteUrl(local.url) === url ? local.adminToken : undefined, "local"],
  ];
  const found = candidates.find(([token]) => token !== undefined);
  if (!found?.[0]) {
    throw new NotSignedIn(
      `Not signed in to ${url}: run \`sluice login --url ${url}\` (or give --token or SLUICE_ADMIN_TOKEN).`,
    );
  }
  return { url, token: found[0], source: found[1] };
}
