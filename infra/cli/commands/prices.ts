/** `sluice prices …`: the price list, as the console's Prices page edits it (admin). */
import { readFile } from "node:fs/promises";
import type { FieldChange } from "../../../shared/management/price-import/diff";
import { ApiCallFailed } from "../api";
import { type OptionSpecs, UsageError } from "../args";
import {
  type Commands,
  type Context,
  type Data,
  list,
  needArg,
  number,
  rateLimitOptions,
  rateLimits,
  wholeNumber,
} from "../command";

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

const rateOptions = Object.fromEntries(
  RATE_OPTIONS.map((option) => [option, { type: "string" } as const]),
) as OptionSpecs;

/**
 * Tries `write` again, on what is there now, when another admin (or script) saved in between
 * (409): up to ten times, each after a random pause of up to 20 ms per attempt so far (at most
 * 200 ms), so that writers that met do not meet again. Five at once, at once, lost all five
 * tries in a test run while other files were saving prices.
 */
async function retryConflicts<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof ApiCallFailed && err.status === 409) || attempt === 10) throw err;
      const pause = Math.random() * Math.min(200, 20 * attempt);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/**
 * Sets one model's price, changed from its current one: PATCH /api/pricing with the price as
 * read, so no other model is touched, and another admin's change to this one in between (409)
 * is read again and the change made on it. `change` answering null removes the model's price.
 */
function changeModelPrice(
  ctx: Context,
  model: string,
  change: (current: Data) => Record<string, unknown> | null,
): Promise<Data> {
  return retryConflicts(async () => {
    const current = (await ctx.call("GET", "/api/pricing")).models[model] ?? null;
    return ctx.call("PATCH", "/api/pricing", {
      models: { [model]: change(current ?? undefined) },
      expected: { [model]: current },
    });
  });
}

/**
 * Saves one change to the price list's other sections: read, changed, written under the
 * version read, so a change to one group never undoes another admin's to another.
 */
function changePricing(
  ctx: Context,
  change: (current: Data) => Record<string, unknown>,
): Promise<Data> {
  return retryConflicts(async () => {
    const current = await ctx.call("GET", "/api/pricing");
    return ctx.call("PUT", "/api/pricing", { ...change(current), version: current.version });
  });
}

/** A map without `name` when `value` is undefined, else with it set. */
function withEntry<T>(map: Record<string, T>, name: string, value: T | undefined) {
  const { [name]: _old, ...rest } = map;
  return value === undefined ? rest : { ...rest, [name]: value };
}

export const prices: Commands = {
  "prices list": {
    summary: "every model's rates, the group multipliers and the batch discount",
    usage: "sluice prices list",
    options: {},
    maxArgs: 0,
    run: async (ctx) => {
      const pricing = await ctx.call("GET", "/api/pricing");
      if (ctx.options.json) return ctx.print(pricing);
      ctx.print(
        Object.entries(pricing.models).map(([model, price]) => ({ model, ...(price as object) })),
        ["model", "input", "output", "cached_input", "per_call", "free"],
      );
      ctx.line(
        `\ngroups ${JSON.stringify(pricing.groups)}  batch discount ×${pricing.batch_discount}  default max tokens ${pricing.default_max_tokens}`,
      );
    },
  },
  "prices set": {
    summary: "one model's rates in USD per 1M tokens (the others it has stay), or --free",
    usage: `sluice prices set <model> (${RATE_OPTIONS.map((o) => `--${o} USD`).join(" | ")} ... | --free)`,
    options: { ...rateOptions, free: { type: "boolean", default: false } },
    maxArgs: 1,
    run: async (ctx) => {
      const model = needArg(ctx, "a model", "prices set");
      const rates = Object.fromEntries(
        RATE_OPTIONS.flatMap((option) => {
          const rate = number(ctx.string(option), `--${option}`);
          return rate === undefined ? [] : [[option.replaceAll("-", "_"), rate]];
        }),
      );
      const free = ctx.flag("free");
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
  "prices remove": {
    summary: "remove a model's price (it is then refused, unless free by default)",
    usage: "sluice prices remove <model>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const model = needArg(ctx, "a model", "prices remove");
      await changeModelPrice(ctx, model, () => null);
      if (ctx.options.json) return ctx.print({ model, removed: true });
      ctx.line(`Removed the price of ${model}.`);
    },
  },
  "prices import": {
    summary: "show what another gateway's price data would change; --apply saves exactly that",
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
      const result = ctx.flag("apply")
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
    summary: "a group's price multiplier (1: list price)",
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
  "prices limits": {
    summary: "a group's rate limits: each key's (--key-…) and each user's (--user-…), 0 for none",
    usage:
      "sluice prices limits <group> [--key-rpm N] [--key-tpm N] [--key-concurrency N] [--user-rpm N] [--user-tpm N] [--user-concurrency N] [--clear]",
    options: {
      ...rateLimitOptions("key-"),
      ...rateLimitOptions("user-"),
      clear: { type: "boolean", default: false },
    },
    maxArgs: 1,
    run: async (ctx) => {
      const group = needArg(ctx, "a group", "prices limits");
      const key = rateLimits(ctx, "key-");
      const user = rateLimits(ctx, "user-");
      const clear = ctx.flag("clear");
      if (clear === (key !== undefined || user !== undefined))
        throw new UsageError("prices limits needs --key-… or --user-… limits, or --clear.");
      const saved = await changePricing(ctx, (current) => ({
        group_rate_limits: withEntry(
          current.group_rate_limits,
          group,
          clear ? undefined : { ...current.group_rate_limits[group], ...key },
        ),
        group_user_rate_limits: withEntry(
          current.group_user_rate_limits,
          group,
          clear ? undefined : { ...current.group_user_rate_limits[group], ...user },
        ),
      }));
      ctx.print({
        group,
        key: saved.group_rate_limits[group] ?? {},
        user: saved.group_user_rate_limits[group] ?? {},
      });
    },
  },
  "prices batch-discount": {
    summary:
      "the multiplier of batch calls' prices, site-wide or for --group (--clear: the site's)",
    usage: "sluice prices batch-discount (<multiplier> | --clear) [--group G]",
    options: { group: { type: "string" }, clear: { type: "boolean", default: false } },
    maxArgs: 1,
    run: async (ctx) => {
      const multiplier = number(ctx.args[0], "multiplier");
      const group = ctx.string("group");
      const clear = ctx.flag("clear");
      if (clear === (multiplier !== undefined) || (clear && group === undefined))
        throw new UsageError(
          "prices batch-discount needs a multiplier, or --clear with --group to follow the site's.",
        );
      const saved = await changePricing(ctx, (current) =>
        group === undefined
          ? { batch_discount: multiplier }
          : { group_batch_discounts: withEntry(current.group_batch_discounts, group, multiplier) },
      );
      ctx.print({
        batch_discount: saved.batch_discount,
        group_batch_discounts: saved.group_batch_discounts,
      });
    },
  },
  "prices default-max-tokens": {
    summary: "the output tokens held for a call that names no max_tokens",
    usage: "sluice prices default-max-tokens <n>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const tokens = wholeNumber(
        needArg(ctx, "a number of tokens", "prices default-max-tokens"),
        "n",
      );
      const saved = await changePricing(ctx, () => ({ default_max_tokens: tokens }));
      ctx.print({ default_max_tokens: saved.default_max_tokens });
    },
  },
};
