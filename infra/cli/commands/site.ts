/**
 * `sluice site …`: the site's settings, one section at a time (/api/site/sections), as the
 * console's settings tabs edit them (admin).
 */
import { UsageError } from "../args";
import { type Commands, type Context, type Data, needArg, segment, wholeNumber } from "../command";
import { readSecret } from "../secrets";

/**
 * One `field=value` of `site set`, typed as the field's current value is (a number stays a
 * number, true/false a boolean); `field=` resets it to its default; `field:=<json>` is sent
 * as that JSON, for anything else.
 */
function change(pair: string, current: Record<string, unknown>): [string, unknown] {
  const json = /^([^=:]+):=(.*)$/s.exec(pair);
  if (json) {
    try {
      return [json[1] as string, JSON.parse(json[2] as string)];
    } catch {
      throw new UsageError(`${json[1]}:= takes JSON, not ${json[2]}.`);
    }
  }
  const at = pair.indexOf("=");
  if (at <= 0) throw new UsageError(`site set takes field=value pairs, not "${pair}".`);
  const name = pair.slice(0, at);
  const text = pair.slice(at + 1);
  if (text === "") return [name, null];
  const was = current[name];
  if (typeof was === "number") {
    const value = Number(text);
    if (!Number.isFinite(value)) throw new UsageError(`${name} is a number, not "${text}".`);
    return [name, value];
  }
  if (typeof was === "boolean") {
    if (text !== "true" && text !== "false")
      throw new UsageError(`${name} is true or false, not "${text}".`);
    return [name, text === "true"];
  }
  return [name, text];
}

/** The body's guard: the options' version the change is made on, when --version is given. */
function guard(ctx: Context) {
  const version = wholeNumber(ctx.string("version"), "--version");
  return version === undefined ? {} : { version };
}

function printSection(ctx: Context, name: string, fields: Record<string, unknown>) {
  ctx.print(
    Object.entries(fields).map(([field, value]) => ({ section: name, field, value })),
    ["section", "field", "value"],
  );
}

export const site: Commands = {
  "site show": {
    summary: "the site's settings, every section or --section S (secrets only as whether set)",
    usage: "sluice site show [--section S]",
    options: { section: { type: "string" } },
    maxArgs: 0,
    run: async (ctx) => {
      const name = ctx.string("section");
      if (name !== undefined) {
        const section = await ctx.call("GET", `/api/site/sections/${segment(name)}`);
        if (ctx.options.json) return ctx.print(section);
        return printSection(ctx, section.name, section.fields);
      }
      const all = await ctx.call("GET", "/api/site/sections");
      if (ctx.options.json) return ctx.print(all);
      for (const [section, fields] of Object.entries(all.sections as Record<string, Data>)) {
        ctx.line(`[${section}]`);
        for (const [field, value] of Object.entries(fields))
          ctx.line(`  ${field} = ${value === null ? "" : JSON.stringify(value)}`);
      }
    },
  },
  "site set": {
    summary:
      "set fields of one section (field=value; field= resets it; field:=JSON); the others stay",
    usage: "sluice site set <section> <field>=<value> ... [--version N]",
    options: { version: { type: "string" } },
    maxArgs: 50,
    run: async (ctx) => {
      const name = needArg(ctx, "a section (see `sluice site show`)", "site set");
      const pairs = ctx.args.slice(1);
      if (pairs.length === 0) throw new UsageError("site set needs field=value pairs.");
      const current = await ctx.call("GET", `/api/site/sections/${segment(name)}`);
      const body = Object.fromEntries(pairs.map((pair) => change(pair, current.fields)));
      const saved = await ctx.call("PUT", `/api/site/sections/${segment(name)}`, {
        ...body,
        ...guard(ctx),
      });
      if (ctx.options.json) return ctx.print(saved);
      printSection(ctx, saved.name, saved.fields);
    },
  },
  "site secret": {
    summary: "set a section's secret from stdin (typed without echo), or --clear it",
    usage: "sluice site secret <section> <field> [--clear] [--version N]",
    options: { clear: { type: "boolean", default: false }, version: { type: "string" } },
    maxArgs: 2,
    run: async (ctx) => {
      const [name, field] = ctx.args;
      if (!name || !field) throw new UsageError("site secret needs a section and a field.");
      const value = ctx.flag("clear") ? null : await readSecret(ctx.io, `${name} ${field}`);
      const saved = await ctx.call("PUT", `/api/site/sections/${segment(name)}`, {
        [field]: value,
        ...guard(ctx),
      });
      if (ctx.options.json) return ctx.print(saved);
      ctx.line(`${name} ${field}: ${value === null ? "removed" : "saved"}.`);
    },
  },
};
