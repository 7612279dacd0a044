/** `sluice keys …`: API keys, the admin's own or (with --user) any user's. */
import { dollarsToUnits } from "../../../shared/billing/units";
import { UsageError } from "../args";
import {
  type Commands,
  type Context,
  list,
  needArg,
  number,
  rateLimitOptions,
  rateLimits,
  segment,
  unixSeconds,
} from "../command";
import { userId } from "./users";

const KEY_COLUMNS = [
  "id",
  "name",
  "key",
  "status",
  "remain_quota",
  "unlimited_quota",
  "used_quota",
  "expired_time",
] as const;

/** What `keys create` and `keys update` set. */
const KEY_OPTIONS = {
  name: { type: "string" },
  dollars: { type: "string" },
  unlimited: { type: "boolean", default: false },
  expires: { type: "string" },
  models: { type: "string" },
  ...rateLimitOptions(),
} as const;

/** The body of a create or update from KEY_OPTIONS, only what was given. */
function keyFields(ctx: Context) {
  const dollars = number(ctx.string("dollars"), "--dollars");
  if (dollars !== undefined && ctx.flag("unlimited"))
    throw new UsageError("Give --dollars or --unlimited, not both.");
  const expires = ctx.string("expires");
  return {
    name: ctx.string("name"),
    remain_quota: dollars === undefined ? undefined : dollarsToUnits(dollars),
    unlimited_quota: ctx.flag("unlimited") ? true : dollars === undefined ? undefined : false,
    expired_time: expires === "never" ? -1 : unixSeconds(expires, "--expires"),
    models: list(ctx.string("models")),
    rate_limits: rateLimits(ctx),
  };
}

async function setStatus(ctx: Context, status: "enabled" | "disabled") {
  const id = needArg(ctx, "a key id", `keys ${status === "enabled" ? "enable" : "disable"}`);
  ctx.print(await ctx.call("PUT", `/api/token/${segment(id)}`, { status }), KEY_COLUMNS);
}

export const keys: Commands = {
  "keys list": {
    summary: "your keys, or a user's with --user",
    usage: "sluice keys list [--user U]",
    options: { user: { type: "string" } },
    maxArgs: 0,
    run: async (ctx) => {
      const ref = ctx.string("user");
      const owner = ref === undefined ? undefined : await userId(ctx, ref);
      ctx.print(await ctx.listAll("/api/token/", { user_id: owner }), KEY_COLUMNS);
    },
  },
  "keys show": {
    summary: "one key (masked)",
    usage: "sluice keys show <id>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = needArg(ctx, "a key id", "keys show");
      ctx.print(await ctx.call("GET", `/api/token/${segment(id)}`), KEY_COLUMNS);
    },
  },
  "keys create": {
    summary: "a new key, yours or a user's; shown in full only now",
    usage:
      "sluice keys create [--name N] [--user U] [--dollars D | --unlimited] [--expires ISO-DATE] [--models a,b] [--rpm N] [--tpm N] [--concurrency N]",
    options: { ...KEY_OPTIONS, user: { type: "string" } },
    maxArgs: 0,
    run: async (ctx) => {
      const ref = ctx.string("user");
      const fields = keyFields(ctx);
      const key = await ctx.call("POST", "/api/token/", {
        ...fields,
        name: fields.name ?? "cli",
        user_id: ref === undefined ? undefined : await userId(ctx, ref),
      });
      if (ctx.options.json) return ctx.print(key);
      ctx.print(key, KEY_COLUMNS);
      ctx.line(`\nThe key is shown only now: ${key.key}`);
    },
  },
  "keys update": {
    summary: "change a key's name, quota, expiry, models or rate limits",
    usage:
      "sluice keys update <id> [--name N] [--dollars D | --unlimited] [--expires ISO-DATE|never] [--models a,b] [--rpm N] [--tpm N] [--concurrency N]",
    options: KEY_OPTIONS,
    maxArgs: 1,
    run: async (ctx) => {
      const id = needArg(ctx, "a key id", "keys update");
      const fields = keyFields(ctx);
      if (Object.values(fields).every((value) => value === undefined))
        throw new UsageError("keys update needs something to change (see --help).");
      ctx.print(await ctx.call("PUT", `/api/token/${segment(id)}`, fields), KEY_COLUMNS);
    },
  },
  "keys disable": {
    summary: "stop a key working (it is kept)",
    usage: "sluice keys disable <id>",
    options: {},
    maxArgs: 1,
    run: (ctx) => setStatus(ctx, "disabled"),
  },
  "keys enable": {
    summary: "let a disabled key work again",
    usage: "sluice keys enable <id>",
    options: {},
    maxArgs: 1,
    run: (ctx) => setStatus(ctx, "enabled"),
  },
  "keys delete": {
    summary: "delete a key for good",
    usage: "sluice keys delete <id>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = needArg(ctx, "a key id", "keys delete");
      await ctx.call("DELETE", `/api/token/${segment(id)}`);
      if (ctx.options.json) return ctx.print({ id, deleted: true });
      ctx.line(`Deleted key ${id}.`);
    },
  },
};
