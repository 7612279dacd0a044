/** `sluice users …`: the console's Users page (and `topup`, its older name for a top-up). */
import { UsageError } from "../args";
import {
  type Commands,
  type Context,
  type Data,
  needArg,
  number,
  rateLimitOptions,
  rateLimits,
  secretOptions,
  segment,
} from "../command";

export const USER_COLUMNS = [
  "id",
  "username",
  "name",
  "role",
  "group",
  "status",
  "total_quota_dollar",
  "used_quota_dollar",
  "request_count",
] as const;

/**
 * The user a command names: by id (`user_…`), or by username, found through the list's search
 * and matched whole (without case, as sign-in compares them).
 */
export async function userId(ctx: Context, ref: string): Promise<string> {
  if (ref.startsWith("user_")) return ref;
  const found = (await ctx.listAll("/api/user/", { keyword: ref })).find(
    (user: Data) => user.username.toLowerCase() === ref.toLowerCase(),
  );
  if (!found) throw new UsageError(`No user is named "${ref}" (give a user id or a username).`);
  return found.id;
}

/** PUT /api/user/<id> with `body`, printed. */
async function update(ctx: Context, ref: string, body: Record<string, unknown>) {
  const user = await ctx.call("PUT", `/api/user/${segment(await userId(ctx, ref))}`, body);
  ctx.print(user, USER_COLUMNS);
  return user;
}

/** An answer that ended someone's access: its `keys_to_review`, which the admin checks. */
function printRevoked(ctx: Context, user: Data) {
  if (ctx.options.json) return ctx.print(user);
  ctx.print(user, USER_COLUMNS);
  const keys = (user.keys_to_review ?? []) as Data[];
  ctx.line(
    `\nSessions ended and access tokens revoked; their keys still work. Keys made since the password was last set: ${
      keys.length === 0 ? "none" : keys.map((k) => `${k.name || k.id} (${k.key})`).join(", ")
    }`,
  );
}

const topup = {
  summary: "add dollars to a user's free, bonus or paid bucket (once per --reference)",
  usage: "sluice users topup <user> <dollars> [--bucket free|bonus|paid] [--reference R]",
  options: { bucket: { type: "string", default: "paid" }, reference: { type: "string" } },
  maxArgs: 2,
  run: async (ctx: Context) => {
    const [ref, amount] = ctx.args;
    const dollars = number(amount, "dollars");
    if (!ref || dollars === undefined)
      throw new UsageError("topup needs a user and an amount in dollars.");
    const user = await ctx.call("POST", `/api/user/${segment(await userId(ctx, ref))}/topup`, {
      dollars,
      bucket: ctx.string("bucket"),
      reference: ctx.string("reference"),
    });
    ctx.print(user, USER_COLUMNS);
  },
} as const;

export const users: Commands = {
  "users list": {
    summary: "every user, or those matching --search (id, username, name, e-mail) and filters",
    usage:
      "sluice users list [--search S] [--group G] [--role user|admin] [--status enabled|disabled] [--trial pending|granted]",
    options: {
      search: { type: "string" },
      group: { type: "string" },
      role: { type: "string" },
      status: { type: "string" },
      trial: { type: "string" },
    },
    maxArgs: 0,
    run: async (ctx) => {
      const all = await ctx.listAll("/api/user/", {
        keyword: ctx.string("search"),
        trial: ctx.string("trial"),
      });
      // The API filters by keyword and trial; group, role and status are picked here.
      const wanted = (["group", "role", "status"] as const).flatMap((name) => {
        const value = ctx.string(name);
        return value === undefined ? [] : [[name, value] as const];
      });
      ctx.print(
        all.filter((user: Data) => wanted.every(([name, value]) => user[name] === value)),
        USER_COLUMNS,
      );
    },
  },
  "users show": {
    summary: "one user, by id or username",
    usage: "sluice users show <user>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = await userId(ctx, needArg(ctx, "a user id or username", "users show"));
      const user = await ctx.call("GET", `/api/user/${segment(id)}`);
      if (ctx.options.json) return ctx.print(user);
      ctx.print(
        Object.entries(user).map(([field, value]) => ({ field, value })),
        ["field", "value"],
      );
    },
  },
  "users create": {
    summary: "a new user who signs in with the password given (and gets an access token)",
    usage:
      "sluice users create <username> [--password-stdin | --password P] [--name N] [--group G] [--role user|admin]",
    options: {
      ...secretOptions("password"),
      name: { type: "string" },
      group: { type: "string" },
      role: { type: "string" },
    },
    maxArgs: 1,
    run: async (ctx) => {
      const username = needArg(ctx, "a username", "users create");
      const user = await ctx.call("POST", "/api/user/", {
        username,
        name: ctx.string("name"),
        password: await ctx.secret("password"),
        group: ctx.string("group"),
        role: ctx.string("role"),
      });
      if (ctx.options.json) return ctx.print(user);
      ctx.print(user, USER_COLUMNS);
      ctx.line(
        `\n${user.has_password ? "They sign in to the console with the password given. " : ""}Access token (shown once): ${user.access_token}`,
      );
    },
  },
  "users update": {
    summary:
      "change a user's name, group, role or status, or reset their password (ends their sessions)",
    usage:
      "sluice users update <user> [--name N] [--group G] [--role user|admin] [--status enabled|disabled] [--password-stdin | --password P]",
    options: {
      name: { type: "string" },
      group: { type: "string" },
      role: { type: "string" },
      status: { type: "string" },
      ...secretOptions("password"),
    },
    maxArgs: 1,
    run: async (ctx) => {
      const ref = needArg(ctx, "a user id or username", "users update");
      const body = {
        name: ctx.string("name"),
        group: ctx.string("group"),
        role: ctx.string("role"),
        status: ctx.string("status"),
        password: await ctx.secret("password"),
      };
      if (Object.values(body).every((value) => value === undefined))
        throw new UsageError("users update needs something to change (see --help).");
      const id = await userId(ctx, ref);
      const user = await ctx.call("PUT", `/api/user/${segment(id)}`, body);
      if (body.password !== undefined) return printRevoked(ctx, user);
      ctx.print(user, USER_COLUMNS);
    },
  },
  "users disable": {
    summary: "stop a user signing in and their keys working",
    usage: "sluice users disable <user>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      await update(ctx, needArg(ctx, "a user", "users disable"), { status: "disabled" });
    },
  },
  "users enable": {
    summary: "let a disabled user in again",
    usage: "sluice users enable <user>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      await update(ctx, needArg(ctx, "a user", "users enable"), { status: "enabled" });
    },
  },
  "users limits": {
    summary: "a user's own rate limits over their group's (0: none), or --clear to follow it",
    usage: "sluice users limits <user> [--rpm N] [--tpm N] [--concurrency N] [--clear]",
    options: { ...rateLimitOptions(), clear: { type: "boolean", default: false } },
    maxArgs: 1,
    run: async (ctx) => {
      const ref = needArg(ctx, "a user", "users limits");
      const limits = rateLimits(ctx);
      if (ctx.flag("clear") === (limits !== undefined))
        throw new UsageError("users limits needs --rpm, --tpm or --concurrency, or --clear.");
      const user = await update(ctx, ref, { rate_limits: ctx.flag("clear") ? null : limits });
      if (!ctx.options.json) ctx.line(`rate limits: ${JSON.stringify(user.rate_limits)}`);
    },
  },
  "users topup": topup,
  topup: {
    ...topup,
    summary: "the same as `users topup`",
    usage: topup.usage.replace("users ", ""),
  },
  "users revoke": {
    summary: "end every session of a user and revoke all their access tokens (keys stay)",
    usage: "sluice users revoke <user>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = await userId(ctx, needArg(ctx, "a user", "users revoke"));
      printRevoked(ctx, await ctx.call("POST", `/api/user/${segment(id)}/revoke`));
    },
  },
  "users approve": {
    summary: "grant a user's pending trial credit (once)",
    usage: "sluice users approve <user>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = await userId(ctx, needArg(ctx, "a user", "users approve"));
      ctx.print(await ctx.call("POST", `/api/user/${segment(id)}/approve`), USER_COLUMNS);
    },
  },
  "users delete": {
    summary:
      "delete a user: disabled for good, credentials revoked, username freed; balance and logs kept",
    usage: "sluice users delete <user>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = await userId(ctx, needArg(ctx, "a user", "users delete"));
      const user = await ctx.call("DELETE", `/api/user/${segment(id)}`);
      if (ctx.options.json) return ctx.print(user);
      ctx.line(`Deleted ${id}: their username is free; their balance and usage log are kept.`);
    },
  },
};
