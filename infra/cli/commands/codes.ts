/** `sluice codes …`: redemption codes, the console's Redemptions page (admin). */
import { writeFileSync } from "node:fs";
import { UsageError } from "../args";
import { type Commands, type Context, needArg, number, segment, wholeNumber } from "../command";

const CODE_COLUMNS = [
  "id",
  "name",
  "status",
  "quota_dollar",
  "bucket",
  "created_at",
  "used_by",
  "used_at",
] as const;

async function setStatus(ctx: Context, status: "enabled" | "disabled") {
  const id = needArg(ctx, "a code's id", `codes ${status === "enabled" ? "enable" : "disable"}`);
  ctx.print(await ctx.call("PUT", `/api/redemption/${segment(id)}`, { status }), CODE_COLUMNS);
}

export const codes: Commands = {
  "codes list": {
    summary: "redemption codes, newest first (the codes themselves are never shown again)",
    usage: "sluice codes list [--search NAME] [--status enabled|disabled|used] [--limit N]",
    options: {
      search: { type: "string" },
      status: { type: "string" },
      limit: { type: "string", default: "500" },
    },
    maxArgs: 0,
    run: async (ctx) => {
      const params = new URLSearchParams({
        size: String(wholeNumber(ctx.string("limit"), "--limit")),
      });
      const search = ctx.string("search");
      if (search) params.set("keyword", search);
      const status = ctx.string("status");
      const found = (await ctx.call("GET", `/api/redemption/?${params}`)) as { status: string }[];
      ctx.print(
        found.filter((code) => status === undefined || code.status === status),
        CODE_COLUMNS,
      );
    },
  },
  "codes create": {
    summary: "--count codes worth --dollars each; printed (or written to --out) only now",
    usage:
      "sluice codes create --name N --dollars D [--count N] [--bucket paid|bonus] [--out FILE]",
    options: {
      name: { type: "string" },
      dollars: { type: "string" },
      count: { type: "string" },
      bucket: { type: "string" },
      out: { type: "string" },
    },
    maxArgs: 0,
    run: async (ctx) => {
      const name = ctx.string("name");
      const dollars = number(ctx.string("dollars"), "--dollars");
      if (!name || dollars === undefined)
        throw new UsageError("codes create needs --name and --dollars.");
      const made = await ctx.call("POST", "/api/redemption/", {
        name,
        dollars,
        count: wholeNumber(ctx.string("count"), "--count"),
        bucket: ctx.string("bucket"),
      });
      const out = ctx.string("out");
      // The codes are secrets worth money: a file of them is the owner's alone.
      if (out) writeFileSync(out, `${made.codes.join("\n")}\n`, { mode: 0o600 });
      if (ctx.options.json) return ctx.print(made);
      if (out) ctx.line(`Wrote ${made.codes.length} codes to ${out}.`);
      else for (const code of made.codes) ctx.line(code);
    },
  },
  "codes disable": {
    summary: "stop an unused code being redeemed",
    usage: "sluice codes disable <id>",
    options: {},
    maxArgs: 1,
    run: (ctx) => setStatus(ctx, "disabled"),
  },
  "codes enable": {
    summary: "let a disabled code be redeemed again",
    usage: "sluice codes enable <id>",
    options: {},
    maxArgs: 1,
    run: (ctx) => setStatus(ctx, "enabled"),
  },
  "codes delete": {
    summary: "delete a code",
    usage: "sluice codes delete <id>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = needArg(ctx, "a code's id", "codes delete");
      await ctx.call("DELETE", `/api/redemption/${segment(id)}`);
      if (ctx.options.json) return ctx.print({ id, deleted: true });
      ctx.line(`Deleted code ${id}.`);
    },
  },
};
