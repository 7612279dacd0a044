/**
 * The sluice admin CLI: users, top-ups, keys, channels and prices, against a URL and an
 * admin access token, local or deployed. `bootstrap` creates the first admin of a deployed
 * stack by writing to its table with your AWS credentials.
 *
 * `main(argv, io)` runs one command and answers its exit code (EXIT); nothing runs at load,
 * so tests call it in-process and `sluice.mjs` only hands it the process.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { CredentialTags } from "../../shared/auth/tags";
import { dollarsToUnits } from "../../shared/billing/units";
import { createAdmin } from "../../shared/bootstrap";
import { loadSettings } from "../../shared/config/settings";
import type { FieldChange } from "../../shared/management/price-import/diff";
import { sdkTransport } from "../../shared/store/dynamo-transport";
import { Table } from "../../shared/store/table";
import { loadTagSecret } from "../../shared/store/tag-secret";
import { Users } from "../../shared/store/users";
import {
  commandWords,
  GLOBAL_OPTIONS,
  type OptionSpecs,
  type ParsedArgs,
  readArgs,
  UsageError,
} from "./args";

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

/** What the CLI touches of its process, passed in so tests can run it in-process. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
}

/** `prices set`'s rate options, each a field of PUT /api/pricing with `_` for `-`. */
const RATE_OPTIONS = [
  "input",
  "output",
  "cached-input",
  "cache-write",
  "cache-write-1h",
  "reasoning",
  "audio-input",
  "audio-output",
  "image-input",
  "image-output",
  "per-call",
] as const;

const USAGE = `Usage: sluice <command> [options]

Commands
  whoami                                    the user the token belongs to
  users list
  users create <name> [--group G] [--role user|admin]
  users update <id> [--status enabled|disabled] [--group G] [--role user|admin]
  topup <user-id> <dollars> [--bucket free|bonus|paid]
  keys list
  keys create [--name N] [--user ID] [--dollars D] [--expires ISO-DATE] [--models a,b]
  channels list
  channels add --name N --base-url URL --models a,b [--type openai|azure|azure-speech|anthropic|bedrock]
               [--key SECRET] [--priority P] [--weight W] [--mapping from=to,...]
               [--config name=value,...]   e.g. --type bedrock --config region=us-east-1
               (a bedrock channel needs no --base-url, and no --key to sign with the role)
  prices list
  prices set <model> (--input USD --output USD ... | --free)
               rates in USD per 1M tokens; any of --input --output --cached-input
               --cache-write --cache-write-1h --reasoning --audio-input --audio-output
               --image-input --image-output, and --per-call USD; the model's other
               rates are kept
  prices import <file> --format new-api|litellm [--models a,b] [--apply]
               shows what the import changes; --apply saves exactly that diff
  prices group <group> <multiplier>
  bootstrap --table TABLE [--region R] [--name admin]   first admin of a deployed stack

Options
  --url URL        sluice's URL (default: $SLUICE_URL, else .sluice/local.json)
  --token TOKEN    an admin's system access token ($SLUICE_ADMIN_TOKEN, else .sluice/local.json)
  --json           print the API's data as JSON, for scripts
  --help, -h       this text, or one command's usage after it

Exit codes: 0 ok, 1 the server refused or could not be reached, 2 usage, 3 not signed in
(no token, or 401/403), 4 not found, 5 conflict (changed in between)
`;

/** No token to call the API with. */
class NotSignedIn extends Error {}

class ApiCallFailed extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What a command runs with: its arguments, and the API and the terminal to talk to. */
interface Context extends ParsedArgs {
  io: CliIo;
  // biome-ignore lint/suspicious/noExplicitAny: the API's data, printed as it comes.
  call(method: string, path: string, body?: unknown): Promise<any>;
  /** Prints rows as an aligned table, or the raw data with --json (or without columns). */
  print(data: unknown, columns?: string[]): void;
  line(text: string): void;
  string(name: string): string | undefined;
}

interface Command {
  usage: string;
  options: OptionSpecs;
  /** How many arguments it takes after its words. */
  maxArgs: number;
  run(ctx: Context): Promise<void>;
}

function connection(
  options: ParsedArgs["options"],
  env: CliIo["env"],
): { url: string; token: string } {
  const local = existsSync(".sluice/local.json")
    ? (JSON.parse(readFileSync(".sluice/local.json", "utf8")) as {
        url?: string;
        adminToken?: string;
      })
    : {};
  const url = (options.url as string | undefined) ?? env.SLUICE_URL ?? local.url;
  const token = (options.token as string | undefined) ?? env.SLUICE_ADMIN_TOKEN ?? local.adminToken;
  if (!url || !token) {
    throw new NotSignedIn(
      "Not signed in: give --url and --token (or SLUICE_URL and SLUICE_ADMIN_TOKEN), or run `npm start` first.",
    );
  }
  return { url: url.replace(/\/+$/, ""), token };
}

function caller(options: ParsedArgs["options"], io: CliIo): Context["call"] {
  return async (method, path, body) => {
    const { url, token } = connection(options, io.env);
    let response: Response;
    try {
      response = await io.fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a bad host) is its cause.
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      throw new Error(`Cannot reach ${url}: ${cause ?? (err as Error).message}`);
    }
    const answer = (await response.json().catch(() => ({}))) as {
      success?: boolean;
      message?: string;
      data?: unknown;
    };
    if (!response.ok || answer.success === false) {
      throw new ApiCallFailed(
        response.status,
        `${method} ${path}: ${answer.message ?? `HTTP ${response.status}`}`,
      );
    }
    return answer.data ?? answer;
  };
}

/**
 * Sets one model's price, changed from its current one: PATCH /api/pricing with the price as
 * read, so no other model is touched, and another admin's change to this one in between (409)
 * is read again and the change made on it.
 */
async function changeModelPrice(
  ctx: Context,
  model: string,
  // biome-ignore lint/suspicious/noExplicitAny: a price as the API answers it.
  change: (current: any) => Record<string, unknown>,
  // biome-ignore lint/suspicious/noExplicitAny: the price list as the API answers it.
): Promise<any> {
  for (let attempt = 1; ; attempt++) {
    const current = (await ctx.call("GET", "/api/pricing")).models[model] ?? null;
    try {
      return await ctx.call("PATCH", "/api/pricing", {
        models: { [model]: change(current ?? undefined) },
        expected: { [model]: current },
      });
    } catch (err) {
      if (!(err instanceof ApiCallFailed && err.status === 409) || attempt === 5) throw err;
    }
  }
}

/**
 * Saves one change to the price list's other sections: read, changed, written under the version read. Another
 * admin's save in between (409) is read again and the change made on it, so a change to one
 * model or group never undoes another's.
 */
async function changePricing(
  ctx: Context,
  // biome-ignore lint/suspicious/noExplicitAny: the price list as the API answers it.
  change: (current: any) => Record<string, unknown>,
  // biome-ignore lint/suspicious/noExplicitAny: the price list as the API answers it.
): Promise<any> {
  for (let attempt = 1; ; attempt++) {
    const current = await ctx.call("GET", "/api/pricing");
    try {
      return await ctx.call("PUT", "/api/pricing", {
        ...change(current),
        version: current.version,
      });
    } catch (err) {
      if (!(err instanceof ApiCallFailed && err.status === 409) || attempt === 5) throw err;
    }
  }
}

function number(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new UsageError(`${name} must be a number, got "${value}".`);
  return parsed;
}

function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

/**
 * `name=value,...` as an object. A piece without `=` belongs to the value before it, so a
 * list value keeps its commas: `region=us-east-1,betas=a,b` sets betas to `a,b`.
 */
function configPairs(value: string): Record<string, string> {
  const config: Record<string, string> = {};
  let last: string | undefined;
  for (const piece of value.split(",")) {
    const at = piece.indexOf("=");
    if (at === -1 && last !== undefined) config[last] += `,${piece.trim()}`;
    else if (at > 0) {
      last = piece.slice(0, at).trim();
      config[last] = piece.slice(at + 1).trim();
    } else throw new UsageError(`--config takes name=value pairs, not "${piece}".`);
  }
  return config;
}

function printer(options: ParsedArgs["options"], line: (text: string) => void): Context["print"] {
  return (data, columns) => {
    if (options.json || !columns) {
      line(JSON.stringify(data, null, 2));
      return;
    }
    const rows = (Array.isArray(data) ? data : [data]) as Record<string, unknown>[];
    const cell = (v: unknown) =>
      v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
    const row = (values: string[]) =>
      values
        .map((v, i) => v.padEnd(widths[i] as number))
        .join("  ")
        .trimEnd();
    line(row(columns));
    for (const r of rows) line(row(columns.map((c) => cell(r[c]))));
  };
}

const USER_COLUMNS = [
  "id",
  "name",
  "role",
  "group",
  "status",
  "total_quota_dollar",
  "used_quota_dollar",
  "request_count",
];
const KEY_COLUMNS = [
  "name",
  "key",
  "status",
  "remain_quota",
  "unlimited_quota",
  "used_quota",
  "expired_time",
];
const CHANNEL_COLUMNS = [
  "id",
  "name",
  "type",
  "base_url",
  "models",
  "priority",
  "weight",
  "status",
];

const rateOptions = Object.fromEntries(
  RATE_OPTIONS.map((option) => [option, { type: "string" } as const]),
) as OptionSpecs;

/** Every command, by its words. */
const COMMANDS: Record<string, Command> = {
  whoami: {
    usage: "sluice whoami",
    options: {},
    maxArgs: 0,
    run: async (ctx) => ctx.print(await ctx.call("GET", "/api/user/self"), USER_COLUMNS),
  },
  "users list": {
    usage: "sluice users list",
    options: {},
    maxArgs: 0,
    run: async (ctx) => ctx.print(await ctx.call("GET", "/api/user/?size=100"), USER_COLUMNS),
  },
  "users create": {
    usage: "sluice users create <name> [--group G] [--role user|admin]",
    options: { group: { type: "string" }, role: { type: "string" } },
    maxArgs: 1,
    run: async (ctx) => {
      const name = ctx.args[0];
      if (!name) throw new UsageError("users create needs a name.");
      const user = await ctx.call("POST", "/api/user/", {
        name,
        group: ctx.string("group"),
        role: ctx.string("role"),
      });
      if (ctx.options.json) return ctx.print(user);
      ctx.print(user, USER_COLUMNS);
      ctx.line(`\nAccess token (shown once): ${user.access_token}`);
    },
  },
  "users update": {
    usage: "sluice users update <id> [--status enabled|disabled] [--group G] [--role user|admin]",
    options: { status: { type: "string" }, group: { type: "string" }, role: { type: "string" } },
    maxArgs: 1,
    run: async (ctx) => {
      const id = ctx.args[0];
      if (!id) throw new UsageError("users update needs a user id.");
      ctx.print(
        await ctx.call("PUT", `/api/user/${id}`, {
          status: ctx.string("status"),
          group: ctx.string("group"),
          role: ctx.string("role"),
        }),
        USER_COLUMNS,
      );
    },
  },
  topup: {
    usage: "sluice topup <user-id> <dollars> [--bucket free|bonus|paid]",
    options: { bucket: { type: "string", default: "paid" } },
    maxArgs: 2,
    run: async (ctx) => {
      const [id, amount] = ctx.args;
      const dollars = number(amount, "dollars");
      if (!id || dollars === undefined)
        throw new UsageError("topup needs a user id and an amount in dollars.");
      ctx.print(
        await ctx.call("POST", `/api/user/${id}/topup`, {
          dollars,
          bucket: ctx.string("bucket"),
        }),
        USER_COLUMNS,
      );
    },
  },
  "keys list": {
    usage: "sluice keys list",
    options: {},
    maxArgs: 0,
    run: async (ctx) => ctx.print(await ctx.call("GET", "/api/token/?size=100"), KEY_COLUMNS),
  },
  "keys create": {
    usage:
      "sluice keys create [--name N] [--user ID] [--dollars D] [--expires ISO-DATE] [--models a,b]",
    options: {
      name: { type: "string" },
      user: { type: "string" },
      dollars: { type: "string" },
      expires: { type: "string" },
      models: { type: "string" },
    },
    maxArgs: 0,
    run: async (ctx) => {
      const dollars = number(ctx.string("dollars"), "--dollars");
      const given = ctx.string("expires");
      const expires = given ? Math.floor(Date.parse(given) / 1000) : undefined;
      if (expires !== undefined && Number.isNaN(expires))
        throw new UsageError("--expires must be a date, e.g. 2027-01-31.");
      const key = await ctx.call("POST", "/api/token/", {
        name: ctx.string("name") ?? "cli",
        user_id: ctx.string("user"),
        remain_quota: dollars === undefined ? undefined : dollarsToUnits(dollars),
        expired_time: expires,
        models: list(ctx.string("models")),
      });
      if (ctx.options.json) return ctx.print(key);
      ctx.print(key, KEY_COLUMNS);
      ctx.line(`\nThe key is shown only now: ${key.key}`);
    },
  },
  "channels list": {
    usage: "sluice channels list",
    options: {},
    maxArgs: 0,
    run: async (ctx) => ctx.print(await ctx.call("GET", "/api/channel/?size=100"), CHANNEL_COLUMNS),
  },
  "channels add": {
    usage:
      "sluice channels add --name N --base-url URL --models a,b [--type openai|azure|azure-speech|anthropic|bedrock] [--key SECRET] [--priority P] [--weight W] [--mapping from=to,...] [--config name=value,...]",
    options: {
      name: { type: "string" },
      "base-url": { type: "string" },
      models: { type: "string" },
      type: { type: "string", default: "openai" },
      key: { type: "string" },
      priority: { type: "string" },
      weight: { type: "string" },
      mapping: { type: "string" },
      config: { type: "string" },
    },
    maxArgs: 0,
    run: async (ctx) => {
      const mapping = list(ctx.string("mapping"))?.map((pair) => pair.split("="));
      const config = ctx.string("config");
      ctx.print(
        await ctx.call("POST", "/api/channel/", {
          type: ctx.string("type"),
          name: ctx.string("name"),
          base_url: ctx.string("base-url"),
          key: ctx.string("key"),
          models: list(ctx.string("models")),
          priority: number(ctx.string("priority"), "--priority"),
          weight: number(ctx.string("weight"), "--weight"),
          model_mapping: mapping ? Object.fromEntries(mapping) : undefined,
          config: config ? configPairs(config) : undefined,
        }),
        CHANNEL_COLUMNS,
      );
    },
  },
  "prices list": {
    usage: "sluice prices list",
    options: {},
    maxArgs: 0,
    run: async (ctx) => {
      const pricing = await ctx.call("GET", "/api/pricing");
      if (ctx.options.json) return ctx.print(pricing);
      ctx.print(
        Object.entries(pricing.models).map(([model, price]) => ({ model, ...(price as object) })),
        ["model", "input", "output", "tts_per_million_chars", "stt_per_minute", "free"],
      );
      ctx.line(
        `\ngroups ${JSON.stringify(pricing.groups)}  batch discount ×${pricing.batch_discount}`,
      );
    },
  },
  "prices set": {
    usage: `sluice prices set <model> (${RATE_OPTIONS.map((o) => `--${o} USD`).join(" | ")} ... | --free)`,
    options: { ...rateOptions, free: { type: "boolean", default: false } },
    maxArgs: 1,
    run: async (ctx) => {
      const model = ctx.args[0];
      if (!model) throw new UsageError("prices set needs a model.");
      const rates = Object.fromEntries(
        RATE_OPTIONS.flatMap((option) => {
          const rate = number(ctx.string(option), `--${option}`);
          return rate === undefined ? [] : [[option.replaceAll("-", "_"), rate]];
        }),
      );
      const free = ctx.options.free === true;
      if (!free && Object.keys(rates).length === 0) {
        throw new UsageError(
          "prices set needs a rate (--input, --output, --cached-input, …: USD per 1M tokens), or --free.",
        );
      }
      const saved = await changeModelPrice(ctx, model, (current) => {
        // The rates given change; the model's others (a cache rate, tiers, a source) stay.
        const { free: _free, ...kept } = current ?? {};
        return free ? { free: true } : { ...kept, ...rates };
      });
      ctx.print({ model, ...saved.models[model] }, ["model", "input", "output", "free"]);
    },
  },
  "prices import": {
    usage: "sluice prices import <file> --format new-api|litellm [--models a,b] [--apply]",
    options: {
      format: { type: "string" },
      models: { type: "string" },
      apply: { type: "boolean", default: false },
    },
    maxArgs: 1,
    run: async (ctx) => {
      const file = ctx.args[0];
      const format = ctx.string("format");
      if (!file || !format)
        throw new UsageError("prices import needs a file and --format new-api|litellm.");
      const models = ctx.string("models");
      const request = {
        format,
        data: await readFile(file, "utf8"),
        ...(models && { models: list(models) }),
      };
      const preview = await ctx.call("POST", "/api/pricing/import", { ...request, dry_run: true });
      // What is saved is what was shown: a price the import changes, changed since, is refused
      // (409); other models' changes meanwhile are kept.
      const result = ctx.options.apply
        ? await ctx.call("POST", "/api/pricing/import", { ...request, basis: preview.basis })
        : preview;
      if (ctx.options.json) return ctx.print(result);
      ctx.print(
        result.models
          .filter((diff: { status: string }) => diff.status !== "unchanged")
          .flatMap((diff: { model: string; status: string; changes: FieldChange[] }) =>
            diff.changes.map((change) => ({
              model: diff.model,
              status: diff.status,
              field: change.field,
              old: change.old,
              new: change.new,
            })),
          ),
        ["model", "status", "field", "old", "new"],
      );
      for (const skip of result.skipped as { model: string; reason: string }[])
        ctx.line(`skipped ${skip.model}: ${skip.reason}`);
      const { added, changed, unchanged, skipped } = result.summary;
      ctx.line(
        `\n${added} added, ${changed} changed, ${unchanged} unchanged, ${skipped} skipped: ${
          result.saved ? "saved" : "not saved (run again with --apply to save)"
        }`,
      );
    },
  },
  "prices group": {
    usage: "sluice prices group <group> <multiplier>",
    options: {},
    maxArgs: 2,
    run: async (ctx) => {
      const group = ctx.args[0];
      const multiplier = number(ctx.args[1], "multiplier");
      if (!group || multiplier === undefined)
        throw new UsageError("prices group needs a group and a multiplier.");
      const saved = await changePricing(ctx, (current) => ({
        groups: { ...current.groups, [group]: multiplier },
      }));
      ctx.print(saved.groups);
    },
  },
  bootstrap: {
    usage: "sluice bootstrap --table TABLE [--region R] [--name admin]",
    options: { table: { type: "string" }, region: { type: "string" }, name: { type: "string" } },
    maxArgs: 0,
    run: bootstrap,
  },
};

/** Creates the first admin straight in the deployed table, with the caller's AWS credentials. */
async function bootstrap(ctx: Context): Promise<void> {
  const tableName = ctx.string("table");
  if (!tableName) throw new UsageError("bootstrap needs --table (the stack's TableName output).");
  const region = ctx.string("region");
  // Only this command reads DynamoDB: the SDK is loaded for it alone (the others start faster).
  const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
  const client = new DynamoDBClient(region ? { region } : {});
  const table = new Table(sdkTransport(client), tableName);
  const users = new Users(table);
  // The token carries a check tag under the table's secret, made here if this is the first use.
  const tags = new CredentialTags(() => loadTagSecret(table));
  // The password is hashed at the default cost (SLUICE_PASSWORD_COST only lowers it for tests).
  const { user, accessToken, password } = await createAdmin(
    { users, tags, settings: loadSettings({}) },
    ctx.string("name") ?? "admin",
  );
  if (ctx.options.json) {
    ctx.print({
      id: user.id,
      name: user.name,
      username: user.username,
      password,
      access_token: accessToken,
    });
    return;
  }
  ctx.line(
    [
      `Created admin ${user.name} (${user.id}).`,
      `Console sign-in (shown once): username ${user.username}, password ${password}`,
      `Access token (shown once): ${accessToken}`,
    ].join("\n"),
  );
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
 * Runs the command `argv` names and answers its exit code. Every failure is one line on
 * stderr (`error: …`), never a stack trace.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const out = (text: string) => io.stdout.write(`${text}\n`);
  try {
    const found = commandWords(argv, VALUE_OPTIONS);
    const [first, second] = found;
    const words =
      second !== undefined && COMMANDS[`${first} ${second}`]
        ? [first as string, second]
        : first !== undefined && COMMANDS[first]
          ? [first]
          : undefined;
    const command = words && COMMANDS[words.join(" ")];
    if (!words || !command) {
      if (argv.includes("--help") || argv.includes("-h")) {
        io.stdout.write(USAGE);
        return EXIT.ok;
      }
      if (found.length === 0) {
        // Options alone: a wrong one is named; right ones still need a command.
        readArgs(argv, [], { usage: "sluice <command> [options]", options: {}, maxArgs: 0 });
        io.stderr.write(USAGE);
        return EXIT.usage;
      }
      // "users frob" names a noun that has commands; "frob x" names no command, x is its argument.
      const noun = Object.keys(COMMANDS).some((name) => name.startsWith(`${first} `));
      throw new UsageError(
        `Unknown command: ${noun ? found.join(" ") : first} (run \`sluice --help\` for the commands).`,
      );
    }
    const parsed = readArgs(argv, words, command);
    if (parsed.options.help) {
      out(`Usage: ${command.usage}`);
      return EXIT.ok;
    }
    await command.run({
      ...parsed,
      io,
      call: caller(parsed.options, io),
      print: printer(parsed.options, out),
      line: out,
      string: (name) => {
        const value = parsed.options[name];
        return typeof value === "string" ? value : undefined;
      },
    });
    return EXIT.ok;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`error: ${message.split("\n")[0]}\n`);
    return exitCode(err);
  }
}
