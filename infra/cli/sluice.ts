/**
 * The sluice admin CLI: every operator action of the console (users, keys, channels, codes,
 * orders, prices, locks, logs), against a URL and an admin access token, local or deployed.
 * `bootstrap` creates the first admin of a deployed stack by writing to its table with your
 * AWS credentials.
 *
 * `main(argv, io)` runs one command and answers its exit code (EXIT); nothing runs at load,
 * so tests call it in-process and `sluice.mjs` only hands it the process. The commands are
 * one table, gathered from one file per noun (commands/*.ts).
 */

import type { Lang } from "../../shared/messages/format";
import { renderOr } from "../../shared/messages/render";
import { ApiCallFailed, dataOf, listAll, requester } from "./api";
import { commandWords, GLOBAL_OPTIONS, readArgs, UsageError } from "./args";
import type { CliIo, Command, Commands, Context } from "./command";
import { auth } from "./commands/auth";
import { bootstrap } from "./commands/bootstrap";
import { channels } from "./commands/channels";
import { codes } from "./commands/codes";
import { keys } from "./commands/keys";
import { locks } from "./commands/locks";
import { logs } from "./commands/logs";
import { orders } from "./commands/orders";
import { prices } from "./commands/prices";
import { site } from "./commands/site";
import { users } from "./commands/users";
import { NotSignedIn } from "./credentials";
import { printer } from "./output";
import { readSecret } from "./secrets";

export type { CliIo } from "./command";

/** The exit codes, as the README documents them. */
export const EXIT = {
  ok: 0,
  /** The server refused (its message is printed), could not be reached, or anything else failed. */
  failed: 1,
  /** The command was called wrongly: an unknown command or option, a missing value. */
  usage: 2,
  /** No token to sign in with, or the server answered 401/403. */
  unauthenticated: 3,
  notFound: 4,
  /** 409: someone changed it in between. */
  conflict: 5,
} as const;

/** Every command, by its words, in the order `--help` lists them. */
const COMMANDS: Commands = {
  ...auth,
  ...users,
  ...keys,
  ...channels,
  ...codes,
  ...orders,
  ...prices,
  ...site,
  ...logs,
  ...locks,
  ...bootstrap,
};

function usage(): string {
  const commands = Object.values(COMMANDS).map(
    (command) => `  ${command.usage.replace(/^sluice /, "")}\n      ${command.summary}`,
  );
  return `Usage: sluice <command> [options]

Commands
${commands.join("\n")}

Options of every command
  --url URL        sluice's URL (default: $SLUICE_URL, else the one stored by \`sluice login\`,
                   else .sluice/local.json)
  --token TOKEN    an admin's access token (default: $SLUICE_ADMIN_TOKEN, else the stored one)
  --json           print the API's data as JSON, for scripts
  --help, -h       this text, or one command's usage after it

A user is named by id (user_…) or username. Secrets are read from stdin with --password-stdin
and --key-stdin (typed without echo on a terminal).

Exit codes: 0 ok, 1 the server refused or could not be reached, 2 usage, 3 not signed in
(no token, or 401/403), 4 not found, 5 conflict (changed in between)
`;
}

/** Every option that takes a value, in any command: its value is not a command word. */
const VALUE_OPTIONS = new Set(
  [GLOBAL_OPTIONS, ...Object.values(COMMANDS).map((c) => c.options)].flatMap((specs) =>
    Object.entries(specs)
      .filter(([, spec]) => spec.type === "string")
      .map(([name]) => name),
  ),
);

/** The exit code for what went wrong. */
function exitCode(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof NotSignedIn) return EXIT.unauthenticated;
  if (err instanceof ApiCallFailed) {
    if (err.status === 401 || err.status === 403) return EXIT.unauthenticated;
    if (err.status === 404) return EXIT.notFound;
    if (err.status === 409) return EXIT.conflict;
  }
  return EXIT.failed;
}

/**
 * The one line a failure prints. A refusal with a message code is worded by the catalogue in
 * the chosen language, the server's English the fallback (a code this CLI does not know, from
 * a newer server); the code follows, for scripts.
 */
function errorLine(err: unknown, lang: Lang): string {
  let message = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  if (err instanceof ApiCallFailed && err.code) {
    message = `${err.what}: ${worded(err, lang) ?? err.said} (${err.code})`;
  }
  // A token that is unknown, revoked or replaced: the remedy, not only the refusal.
  if (err instanceof ApiCallFailed && err.status === 401 && err.connection) {
    return `error: ${message} Run \`sluice login\` to sign in again${
      err.connection?.source === "env" || err.connection?.source === "option"
        ? " (or give a current token)"
        : ""
    }.`;
  }
  return `error: ${message}`;
}

function worded(err: ApiCallFailed, lang: Lang): string | undefined {
  const text = renderOr(lang, err, "");
  return text || undefined;
}

/** --lang, else LANG (zh_CN.UTF-8 → zh); English otherwise. */
function language(argv: string[], env: CliIo["env"]): Lang {
  const at = argv.findIndex((arg) => arg === "--lang" || arg.startsWith("--lang="));
  const given =
    at === -1 ? env.LANG : argv[at]?.includes("=") ? argv[at]?.split("=")[1] : argv[at + 1];
  return given?.toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** The command `argv` names, and its words; undefined when it names none. */
function findCommand(found: string[]): { words: string[]; command: Command } | undefined {
  const [first, second, third] = found;
  // The longest first: `site logo set` before `site set`'s two words.
  for (const words of [[first, second, third], [first, second], [first]]) {
    if (words.some((word) => word === undefined)) continue;
    const command = COMMANDS[words.join(" ")];
    if (command) return { words: words as string[], command };
  }
  return undefined;
}

/**
 * Runs the command `argv` names and answers its exit code. Every failure is one line on
 * stderr (`error: …`), never a stack trace.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const out = (text: string) => io.stdout.write(`${text}\n`);
  try {
    const found = commandWords(argv, VALUE_OPTIONS);
    const named = findCommand(found);
    if (!named) {
      if (argv.includes("--help") || argv.includes("-h")) {
        io.stdout.write(usage());
        return EXIT.ok;
      }
      if (found.length === 0) {
        // Options alone: a wrong one is named; right ones still need a command.
        readArgs(argv, [], { usage: "sluice <command> [options]", options: {}, maxArgs: 0 });
        io.stderr.write(usage());
        return EXIT.usage;
      }
      // "users frob" names a noun that has commands; "frob x" names no command, x is its argument.
      const noun = Object.keys(COMMANDS).some((name) => name.startsWith(`${found[0]} `));
      throw new UsageError(
        `Unknown command: ${noun ? found.join(" ") : found[0]} (run \`sluice --help\` for the commands).`,
      );
    }
    const { words, command } = named;
    const parsed = readArgs(argv, words, command);
    if (parsed.options.help) {
      out(`Usage: ${command.usage}`);
      return EXIT.ok;
    }
    const request = requester(parsed.options, io);
    const call = async (method: string, path: string, body?: unknown) =>
      dataOf(await request(method, path, body));
    const string = (name: string) => {
      const value = parsed.options[name];
      return typeof value === "string" ? value : undefined;
    };
    const ctx: Context = {
      ...parsed,
      io,
      call,
      request,
      listAll: (path, query) => listAll(call, path, query),
      print: printer(parsed.options.json === true, out),
      line: out,
      string,
      flag: (name) => parsed.options[name] === true,
      secret: async (name) => {
        const given = string(name);
        const piped = parsed.options[`${name}-stdin`] === true;
        if (given !== undefined && piped)
          throw new UsageError(`Give --${name} or --${name}-stdin, not both.`);
        return piped ? readSecret(io, name[0]?.toUpperCase() + name.slice(1)) : given;
      },
    };
    await command.run(ctx);
    return EXIT.ok;
  } catch (err) {
    io.stderr.write(`${errorLine(err, language(argv, io.env))}\n`);
    return exitCode(err);
  }
}
