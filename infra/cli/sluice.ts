/**
 * The sluice admin CLI: users, top-ups, keys, channels and prices, against a URL and an
 * admin access token, local or deployed. `bootstrap` creates the first admin of a deployed
 * stack by writing to its table with your AWS credentials.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { CredentialTags } from "../../shared/auth/tags";
import { dollarsToUnits } from "../../shared/billing/units";
import { createAdmin } from "../../shared/bootstrap";
import { loadSettings } from "../../shared/config/settings";
import type { FieldChange } from "../../shared/management/price-import/diff";
import { sdkTransport } from "../../shared/store/dynamo-transport";
import { Table } from "../../shared/store/table";
import { loadTagSecret } from "../../shared/store/tag-secret";
import { Users } from "../../shared/store/users";

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
`;

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" },
    token: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
    group: { type: "string" },
    role: { type: "string" },
    status: { type: "string" },
    bucket: { type: "string", default: "paid" },
    name: { type: "string" },
    user: { type: "string" },
    dollars: { type: "string" },
    expires: { type: "string" },
    models: { type: "string" },
    type: { type: "string", default: "openai" },
    "base-url": { type: "string" },
    config: { type: "string" },
    "cached-input": { type: "string" },
    "cache-write": { type: "string" },
    "cache-write-1h": { type: "string" },
    reasoning: { type: "string" },
    "audio-input": { type: "string" },
    "audio-output": { type: "string" },
    "image-input": { type: "string" },
    "image-output": { type: "string" },
    "per-call": { type: "string" },
    format: { type: "string" },
    apply: { type: "boolean", default: false },
    key: { type: "string" },
    priority: { type: "string" },
    weight: { type: "string" },
    mapping: { type: "string" },
    input: { type: "string" },
    output: { type: "string" },
    free: { type: "boolean", default: false },
    table: { type: "string" },
    region: { type: "string" },
  },
});

class UsageError extends Error {}

function connection(): { url: string; token: string } {
  const local = existsSync(".sluice/local.json")
    ? (JSON.parse(readFileSync(".sluice/local.json", "utf8")) as {
        url?: string;
        adminToken?: string;
      })
    : {};
  const url = options.url ?? process.env.SLUICE_URL ?? local.url;
  const token = options.token ?? process.env.SLUICE_ADMIN_TOKEN ?? local.adminToken;
  if (!url || !token) throw new UsageError("Give --url and --token (or run `npm start` first).");
  return { url: url.replace(/\/+$/, ""), token };
}

// biome-ignore lint/suspicious/noExplicitAny: the API's data, printed as it comes.
async function call(method: string, path: string, body?: unknown): Promise<any> {
  const { url, token } = connection();
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
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
}

class ApiCallFailed extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Sets one model's price, changed from its current one: PATCH /api/pricing with the price as
 * read, so no other model is touched, and another admin's change to this one in between (409)
 * is read again and the change made on it.
 */
async function changeModelPrice(
  model: string,
  // biome-ignore lint/suspicious/noExplicitAny: a price as the API answers it.
  change: (current: any) => Record<string, unknown>,
  // biome-ignore lint/suspicious/noExplicitAny: the price list as the API answers it.
): Promise<any> {
  for (let attempt = 1; ; attempt++) {
    const current = (await call("GET", "/api/pricing")).models[model] ?? null;
    try {
      return await call("PATCH", "/api/pricing", {
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
// biome-ignore lint/suspicious/noExplicitAny: the price list as the API answers it.
async function changePricing(change: (current: any) => Record<string, unknown>): Promise<any> {
  for (let attempt = 1; ; attempt++) {
    const current = await call("GET", "/api/pricing");
    try {
      return await call("PUT", "/api/pricing", { ...change(current), version: current.version });
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
    } else throw new Error(`--config takes name=value pairs, not ${piece}`);
  }
  return config;
}

/** Prints rows as an aligned table, or the raw data with --json. */
function print(data: unknown, columns?: string[]): void {
  if (options.json || !columns) {
    console.log(JSON.stringify(data, null, 2));
    return;
  }
  const rows = (Array.isArray(data) ? data : [data]) as Record<string, unknown>[];
  const cell = (v: unknown) =>
    v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  console.log(line(columns));
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]))));
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

async function run(args: string[]): Promise<void> {
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const [command, sub, ...rest] = args;
  if (command === "topup") {
    const dollars = number(rest[0], "dollars");
    if (!sub || dollars === undefined)
      throw new UsageError("topup needs a user id and an amount in dollars.");
    return print(
      await call("POST", `/api/user/${sub}/topup`, { dollars, bucket: options.bucket }),
      USER_COLUMNS,
    );
  }
  switch (`${command} ${sub ?? ""}`.trim()) {
    case "whoami":
      return print(await call("GET", "/api/user/self"), USER_COLUMNS);
    case "users list":
      return print(await call("GET", "/api/user/?size=100"), USER_COLUMNS);
    case "users create": {
      const name = rest[0];
      if (!name) throw new UsageError("users create needs a name.");
      const user = await call("POST", "/api/user/", {
        name,
        group: options.group,
        role: options.role,
      });
      if (options.json) return print(user);
      print(user, USER_COLUMNS);
      console.log(`\nAccess token (shown once): ${user.access_token}`);
      return;
    }
    case "users update": {
      const id = rest[0];
      if (!id) throw new UsageError("users update needs a user id.");
      return print(
        await call("PUT", `/api/user/${id}`, {
          status: options.status,
          group: options.group,
          role: options.role,
        }),
        USER_COLUMNS,
      );
    }
    case "keys list":
      return print(await call("GET", "/api/token/?size=100"), KEY_COLUMNS);
    case "keys create": {
      const dollars = number(options.dollars, "--dollars");
      const expires = options.expires ? Math.floor(Date.parse(options.expires) / 1000) : undefined;
      if (expires !== undefined && Number.isNaN(expires))
        throw new UsageError("--expires must be a date, e.g. 2027-01-31.");
      const key = await call("POST", "/api/token/", {
        name: options.name ?? "cli",
        user_id: options.user,
        remain_quota: dollars === undefined ? undefined : dollarsToUnits(dollars),
        expired_time: expires,
        models: list(options.models),
      });
      if (options.json) return print(key);
      print(key, KEY_COLUMNS);
      console.log(`\nThe key is shown only now: ${key.key}`);
      return;
    }
    case "channels list":
      return print(await call("GET", "/api/channel/?size=100"), CHANNEL_COLUMNS);
    case "channels add": {
      const mapping = list(options.mapping)?.map((pair) => pair.split("="));
      return print(
        await call("POST", "/api/channel/", {
          type: options.type,
          name: options.name,
          base_url: options["base-url"],
          key: options.key,
          models: list(options.models),
          priority: number(options.priority, "--priority"),
          weight: number(options.weight, "--weight"),
          model_mapping: mapping ? Object.fromEntries(mapping) : undefined,
          config: options.config ? configPairs(options.config) : undefined,
        }),
        CHANNEL_COLUMNS,
      );
    }
    case "prices list": {
      const pricing = await call("GET", "/api/pricing");
      if (options.json) return print(pricing);
      print(
        Object.entries(pricing.models).map(([model, price]) => ({ model, ...(price as object) })),
        ["model", "input", "output", "tts_per_million_chars", "stt_per_minute", "free"],
      );
      console.log(
        `\ngroups ${JSON.stringify(pricing.groups)}  batch discount ×${pricing.batch_discount}`,
      );
      return;
    }
    case "prices set": {
      const model = rest[0];
      if (!model) throw new UsageError("prices set needs a model.");
      const rates = Object.fromEntries(
        RATE_OPTIONS.flatMap((option) => {
          const rate = number(options[option], `--${option}`);
          return rate === undefined ? [] : [[option.replaceAll("-", "_"), rate]];
        }),
      );
      if (!options.free && Object.keys(rates).length === 0) {
        throw new UsageError(
          "prices set needs a rate (--input, --output, --cached-input, …: USD per 1M tokens), or --free.",
        );
      }
      const saved = await changeModelPrice(model, (current) => {
        // The rates given change; the model's others (a cache rate, tiers, a source) stay.
        const { free: _free, ...kept } = current ?? {};
        return options.free ? { free: true } : { ...kept, ...rates };
      });
      return print({ model, ...saved.models[model] }, ["model", "input", "output", "free"]);
    }
    case "prices import": {
      const file = rest[0];
      const format = options.format;
      if (!file || !format)
        throw new UsageError("prices import needs a file and --format new-api|litellm.");
      const request = {
        format,
        data: await readFile(file, "utf8"),
        ...(options.models && { models: list(options.models) }),
      };
      const preview = await call("POST", "/api/pricing/import", { ...request, dry_run: true });
      // What is saved is what was shown: a price the import changes, changed since, is refused
      // (409); other models' changes meanwhile are kept.
      const result = options.apply
        ? await call("POST", "/api/pricing/import", { ...request, basis: preview.basis })
        : preview;
      if (options.json) return print(result);
      print(
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
        console.log(`skipped ${skip.model}: ${skip.reason}`);
      const { added, changed, unchanged, skipped } = result.summary;
      console.log(
        `\n${added} added, ${changed} changed, ${unchanged} unchanged, ${skipped} skipped: ${
          result.saved ? "saved" : "not saved (run again with --apply to save)"
        }`,
      );
      return;
    }
    case "prices group": {
      const group = rest[0];
      const multiplier = number(rest[1], "multiplier");
      if (!group || multiplier === undefined)
        throw new UsageError("prices group needs a group and a multiplier.");
      const saved = await changePricing((current) => ({
        groups: { ...current.groups, [group]: multiplier },
      }));
      return print(saved.groups);
    }
    case "bootstrap":
      return bootstrap();
    default:
      throw new UsageError(command ? `Unknown command: ${args.join(" ")}` : "");
  }
}

/** Creates the first admin straight in the deployed table, with the caller's AWS credentials. */
async function bootstrap(): Promise<void> {
  if (!options.table)
    throw new UsageError("bootstrap needs --table (the stack's TableName output).");
  // Only this command reads DynamoDB: the SDK is loaded for it alone (the others start faster).
  const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
  const client = new DynamoDBClient(options.region ? { region: options.region } : {});
  const table = new Table(sdkTransport(client), options.table);
  const users = new Users(table);
  // The token carries a check tag under the table's secret, made here if this is the first use.
  const tags = new CredentialTags(() => loadTagSecret(table));
  // The password is hashed at the default cost (SLUICE_PASSWORD_COST only lowers it for tests).
  const { user, accessToken, password } = await createAdmin(
    { users, tags, settings: loadSettings({}) },
    options.name ?? "admin",
  );
  if (options.json) {
    print({
      id: user.id,
      name: user.name,
      username: user.username,
      password,
      access_token: accessToken,
    });
    return;
  }
  console.log(
    [
      `Created admin ${user.name} (${user.id}).`,
      `Console sign-in (shown once): username ${user.username}, password ${password}`,
      `Access token (shown once): ${accessToken}`,
    ].join("\n"),
  );
}

run(positionals).catch((err: unknown) => {
  if (err instanceof UsageError) {
    if (err.message) console.error(`${err.message}\n`);
    console.error(USAGE);
    process.exit(2);
  }
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
