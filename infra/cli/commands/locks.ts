/** `sluice locks …`: the sign-in throttle's counters at their limit (admin). */
import { type Commands, needArg, segment } from "../command";

export const locks: Commands = {
  "locks list": {
    summary:
      "who is locked out or slowed now (sign-in, registration, redemption), soonest to end first",
    usage: "sluice locks list",
    options: {},
    maxArgs: 0,
    run: async (ctx) => {
      const found = await ctx.call("GET", "/api/lock");
      ctx.print(
        ctx.options.json
          ? found
          : found.map((lock: { until: number }) => ({
              ...lock,
              until: new Date(lock.until * 1000).toISOString().replace(".000Z", "Z"),
            })),
        ["id", "kind", "username", "address", "failures", "limit", "until"],
      );
    },
  },
  "locks clear": {
    summary: "lift one lock: its count back to nothing",
    usage: "sluice locks clear <id>",
    options: {},
    maxArgs: 1,
    run: async (ctx) => {
      const id = needArg(ctx, "a lock's id (from `sluice locks list`)", "locks clear");
      await ctx.call("DELETE", `/api/lock/${segment(id)}`);
      if (ctx.options.json) return ctx.print({ id, cleared: true });
      ctx.line(`Cleared ${id}.`);
    },
  },
};
