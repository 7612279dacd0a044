/**
 * `sluice site …`: the site's settings, one section at a time (/api/site/sections), as the
 * console's settings tabs edit them (admin).
 */
import { readFile } from "node:fs/promises";
import { RawBody } from "../api";
import { UsageError } from "../args";
import { type Commands, type Context, type Data, needArg, segment, wholeNumber } from "../command";
import { readSecret } from "../secrets";

/** The site's languages, as the content is kept per language. */
const LANGS = ["en", "zh"];

function lang(ctx: Context): string {
  const value = ctx.string("lang");
  if (!value || !LANGS.includes(value))
    throw new UsageError(`--lang is one of ${LANGS.join(", ")}${value ? `, not "${value}"` : ""}.`);
  return value;
}

/** A file's bytes, or stdin's with "-". */
async function bytesOf(ctx: Context, path: string): Promise<Buffer> {
  if (path === "-") {
    if (!ctx.io.stdin) throw new UsageError("- reads stdin, and there is none.");
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.io.stdin) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(path);
  } catch (err) {
    throw new UsageError(`Cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}.`);
  }
}

/** One language's content as the server keeps it: its pages' sizes and its announcements. */
function printContent(ctx: Context, content: Data) {
  if (ctx.options.json) return ctx.print(content);
  for (const page of ["home", "about"] as const) {
    const text = (content[page] ?? "") as string;
    ctx.line(`[${page}] ${text ? `${text.length} characters` : "(none)"}`);
    if (text) ctx.line(text.replace(/^/gm, "  "));
  }
  const list = (content.announcements ?? []) as Data[];
  ctx.line(`[announcements] ${list.length}`);
  for (const item of list) ctx.line(`  - ${JSON.stringify(item)}`);
}

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
  "site content show": {
    summary: "one language's home page, about page and announcements (Markdown)",
    usage: "sluice site content show --lang en|zh",
    options: { lang: { type: "string" } },
    maxArgs: 0,
    run: async (ctx) => {
      printContent(ctx, await ctx.call("GET", `/api/site/content?lang=${lang(ctx)}`));
    },
  },
  "site content set": {
    summary:
      "set one language's home/about page from a file (- for stdin; an empty file removes it) or its announcements from a JSON file",
    usage:
      "sluice site content set --lang en|zh [--home FILE] [--about FILE] [--announcements FILE] [--version N]",
    options: {
      lang: { type: "string" },
      home: { type: "string" },
      about: { type: "string" },
      announcements: { type: "string" },
      version: { type: "string" },
    },
    maxArgs: 0,
    run: async (ctx) => {
      const language = lang(ctx);
      // Stdin can be read once: a second "-" would read it empty, and an empty page is removed.
      const fromStdin = ["home", "about", "announcements"].filter(
        (name) => ctx.string(name) === "-",
      );
      if (fromStdin.length > 1)
        throw new UsageError(`Only one of --${fromStdin.join(", --")} can read stdin ("-").`);
      const body: Record<string, unknown> = { ...guard(ctx) };
      for (const page of ["home", "about"]) {
        const file = ctx.string(page);
        if (file !== undefined) body[page] = (await bytesOf(ctx, file)).toString("utf8");
      }
      const announcements = ctx.string("announcements");
      if (announcements !== undefined) {
        const text = (await bytesOf(ctx, announcements)).toString("utf8");
        try {
          body.announcements = JSON.parse(text);
        } catch {
          throw new UsageError(
            `--announcements takes a JSON list, and ${announcements} is not JSON.`,
          );
        }
      }
      if (!["home", "about", "announcements"].some((name) => name in body))
        throw new UsageError("site content set needs --home, --about or --announcements.");
      printContent(ctx, await ctx.call("PUT", `/api/site/content?lang=${language}`, body));
    },
  },
  "site logo set": {
    summary: "upload the site's logo (PNG, JPEG or WebP, at most 100 KB; SVG is refused)",
    usage: "sluice site logo set <file>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const file = needArg(ctx, "an image file", "site logo set");
      const saved = await ctx.call("PUT", "/api/site/logo", new RawBody(await bytesOf(ctx, file)));
      if (ctx.options.json) return ctx.print(saved);
      ctx.line(`Logo saved (version ${saved.fields.logo_version}).`);
    },
  },
  "site logo remove": {
    summary: "back to no logo",
    usage: "sluice site logo remove",
    options: {},
    maxArgs: 0,
    run: async (ctx) => {
      const saved = await ctx.call("DELETE", "/api/site/logo");
      if (ctx.options.json) return ctx.print(saved);
      ctx.line("Logo removed.");
    },
  },
};
