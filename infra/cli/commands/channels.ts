/** `sluice channels …`: the upstreams sluice relays to (admin). */
import { UsageError } from "../args";
import {
  type Command,
  type Commands,
  type Context,
  list,
  needArg,
  number,
  secretOptions,
  segment,
  wholeNumber,
} from "../command";

const CHANNEL_COLUMNS = [
  "id",
  "name",
  "type",
  "base_url",
  "models",
  "priority",
  "weight",
  "status",
] as const;

const CHANNEL_OPTIONS = {
  name: { type: "string" },
  "base-url": { type: "string" },
  models: { type: "string" },
  type: { type: "string" },
  ...secretOptions("key"),
  priority: { type: "string" },
  weight: { type: "string" },
  mapping: { type: "string" },
  config: { type: "string" },
} as const;

const SETTINGS =
  "[--type openai|azure|azure-speech|anthropic|bedrock] [--key-stdin | --key SECRET] [--priority P] [--weight W] [--mapping from=to,...] [--config name=value,...]";

/**
 * `name=value,...` as an object. A piece without `=` belongs to the value before it, so a
 * list value keeps its commas: `region=us-east-1,betas=a,b` sets betas to `a,b`.
 */
function pairs(value: string, option: string): Record<string, string> {
  const config: Record<string, string> = {};
  let last: string | undefined;
  for (const piece of value.split(",")) {
    const at = piece.indexOf("=");
    if (at === -1 && last !== undefined) config[last] += `,${piece.trim()}`;
    else if (at > 0) {
      last = piece.slice(0, at).trim();
      config[last] = piece.slice(at + 1).trim();
    } else throw new UsageError(`${option} takes name=value pairs, not "${piece}".`);
  }
  return config;
}

async function channelBody(ctx: Context) {
  const mapping = ctx.string("mapping");
  const config = ctx.string("config");
  return {
    type: ctx.string("type"),
    name: ctx.string("name"),
    base_url: ctx.string("base-url"),
    key: await ctx.secret("key"),
    models: list(ctx.string("models")),
    priority: wholeNumber(ctx.string("priority"), "--priority"),
    weight: number(ctx.string("weight"), "--weight"),
    model_mapping: mapping === undefined ? undefined : pairs(mapping, "--mapping"),
    config: config === undefined ? undefined : pairs(config, "--config"),
  };
}

async function setStatus(ctx: Context, status: "enabled" | "disabled") {
  const id = needArg(
    ctx,
    "a channel id",
    `channels ${status === "enabled" ? "enable" : "disable"}`,
  );
  ctx.print(await ctx.call("PUT", `/api/channel/${segment(id)}`, { status }), CHANNEL_COLUMNS);
}

const add: Command = {
  summary: "a new channel (a bedrock one needs no --base-url, and no key to sign with the role)",
  usage: `sluice channels add --name N --base-url URL --models a,b ${SETTINGS}`,
  options: CHANNEL_OPTIONS,
  maxArgs: 0,
  run: async (ctx) => {
    const body = await channelBody(ctx);
    ctx.print(
      await ctx.call("POST", "/api/channel/", { ...body, type: body.type ?? "openai" }),
      CHANNEL_COLUMNS,
    );
  },
};

export const channels: Commands = {
  "channels list": {
    summary: "every channel, highest priority first",
    usage: "sluice channels list",
    options: {},
    maxArgs: 0,
    run: async (ctx) => ctx.print(await ctx.listAll("/api/channel/"), CHANNEL_COLUMNS),
  },
  "channels show": {
    summary: "one channel, with its models' health (its key masked)",
    usage: "sluice channels show <id>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = needArg(ctx, "a channel id", "channels show");
      const channel = await ctx.call("GET", `/api/channel/${segment(id)}`);
      if (ctx.options.json) return ctx.print(channel);
      ctx.print(
        Object.entries(channel).map(([field, value]) => ({ field, value })),
        ["field", "value"],
      );
    },
  },
  "channels add": add,
  "channels create": {
    ...add,
    summary: "the same as `channels add`",
    usage: add.usage.replace(" add ", " create "),
  },
  "channels update": {
    summary: "change a channel: only the settings given",
    usage: `sluice channels update <id> [--name N] [--base-url URL] [--models a,b] ${SETTINGS}`,
    options: CHANNEL_OPTIONS,
    maxArgs: 1,
    run: async (ctx) => {
      const id = needArg(ctx, "a channel id", "channels update");
      const body = await channelBody(ctx);
      if (Object.values(body).every((value) => value === undefined))
        throw new UsageError("channels update needs something to change (see --help).");
      ctx.print(await ctx.call("PUT", `/api/channel/${segment(id)}`, body), CHANNEL_COLUMNS);
    },
  },
  "channels test": {
    summary: "one tiny real call through the channel (outside billing): its status and latency",
    usage: "sluice channels test <id> [--model M]",
    options: { model: { type: "string" } },
    maxArgs: 1,
    run: async (ctx) => {
      const id = needArg(ctx, "a channel id", "channels test");
      const model = ctx.string("model");
      const query = model === undefined ? "" : `?model=${encodeURIComponent(model)}`;
      // A failed test is the server refusing: its message (the upstream's status) and exit 1.
      const result = await ctx.call("POST", `/api/channel/${segment(id)}/test${query}`);
      ctx.print(result, ["model", "status", "latency_ms"]);
    },
  },
  "channels disable": {
    summary: "stop relaying to a channel",
    usage: "sluice channels disable <id>",
    options: {},
    maxArgs: 1,
    run: (ctx) => setStatus(ctx, "disabled"),
  },
  "channels enable": {
    summary: "relay to a channel again (clears its models' health)",
    usage: "sluice channels enable <id>",
    options: {},
    maxArgs: 1,
    run: (ctx) => setStatus(ctx, "enabled"),
  },
  "channels delete": {
    summary: "delete a channel",
    usage: "sluice channels delete <id>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = needArg(ctx, "a channel id", "channels delete");
      await ctx.call("DELETE", `/api/channel/${segment(id)}`);
      if (ctx.options.json) return ctx.print({ id, deleted: true });
      ctx.line(`Deleted channel ${id}.`);
    },
  },
};
