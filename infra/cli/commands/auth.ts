/** `sluice whoami`, and the CLI's own credential: `login`, `logout`, `tokens …`. */
import type { Commands } from "../command";
import { USER_COLUMNS } from "./users";

export const auth: Commands = {
  whoami: {
    summary: "the user the token belongs to",
    usage: "sluice whoami",
    options: {},
    maxArgs: 0,
    run: async (ctx) => ctx.print(await ctx.call("GET", "/api/user/self"), USER_COLUMNS),
  },
};
