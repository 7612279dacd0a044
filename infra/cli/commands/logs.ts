/** `sluice logs …`: the usage log, every user's (admin), as the console's Logs page reads it. */
import { UsageError } from "../args";
import { type Commands, type Context, type Data, unixSeconds, wholeNumber } from "../command";
import { userId } from "./users";

const LOG_COLUMNS = [
  "created_at",
  "type",
  "username",
  "key_name",
  "model",
  "prompt_tokens",
  "completion_tokens",
  "quota_dollar",
  "status",
  "outcome",
  "request_id",
] as const;

const FILTER_OPTIONS = {
  user: { type: "string" },
  model: { type: "string" },
  "key-name": { type: "string" },
  type: { type: "string" },
  channel: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
} as const;

const FILTERS =
  "[--user U] [--model M] [--key-name N] [--type consume|topup] [--channel ID] [--since DATE] [--until DATE]";

/** The API's filter query from the options. */
async function filterQuery(ctx: Context): Promise<URLSearchParams> {
  const query = new URLSearchParams();
  const ref = ctx.string("user");
  const set = (name: string, value: string | number | undefined) => {
    if (value !== undefined) query.set(name, String(value));
  };
  set("user_id", ref === undefined ? undefined : await userId(ctx, ref));
  set("model", ctx.string("model"));
  set("key_name", ctx.string("key-name"));
  set("type", ctx.string("type"));
  set("channel", ctx.string("channel"));
  set("start", unixSeconds(ctx.string("since"), "--since"));
  set("end", unixSeconds(ctx.string("until"), "--until"));
  return query;
}

/** Times as ISO in UTC, readable in a table. */
const readable = (line: Data) => ({
  ...line,
  created_at: new Date(line.created_at * 1000).toISOString().replace(".000Z", "Z"),
});

export const logs: Commands = {
  "logs list": {
    summary: "usage lines, newest first (without --user, the site's log, seconds behind)",
    usage: `sluice logs list ${FILTERS} [--limit N]`,
    options: { ...FILTER_OPTIONS, limit: { type: "string", default: "50" } },
    maxArgs: 0,
    run: async (ctx) => {
      const limit = wholeNumber(ctx.string("limit"), "--limit") as number;
      if (limit < 1) throw new UsageError("--limit must be 1 or more.");
      const query = await filterQuery(ctx);
      const lines: Data[] = [];
      // A page at a time (200 at most each) until the limit, or the log ends.
      for (let cursor: string | null = null; lines.length < limit; ) {
        query.set("size", String(Math.min(200, limit - lines.length)));
        if (cursor) query.set("cursor", cursor);
        const answer = await ctx.request("GET", `/api/log/?${query}`);
        lines.push(...answer.data);
        cursor = answer.next_cursor;
        if (!cursor) break;
      }
      ctx.print(ctx.options.json ? lines : lines.map(readable), LOG_COLUMNS);
    },
  },
  "logs stat": {
    summary: "totals of the lines matching the filters (`complete: false`: of the newest only)",
    usage: `sluice logs stat ${FILTERS}`,
    options: FILTER_OPTIONS,
    maxArgs: 0,
    run: async (ctx) => {
      const stat = await ctx.call("GET", `/api/log/stat?${await filterQuery(ctx)}`);
      ctx.print(stat, [
        "lines",
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "quota_dollar",
        "complete",
      ]);
    },
  },
};
