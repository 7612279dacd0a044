import { cookieValue, SESSION_COOKIE } from "../auth/authenticate";
import { publicPrices, usableModels } from "../billing/catalogue";
import { UNITS_PER_USD } from "../billing/units";
import { Unauthenticated } from "../errors";
import { type Call, publicRoute } from "../http/route";
import type { UserRecord } from "../store/users";
import { ok } from "./envelope";

/** The group registration gives (store/users.ts), whose prices visitors see. */
const VISITORS_GROUP = "default";

/**
 * GET /api/pricing/public (the models page): every model one may call and its price for a
 * group, after the group's multiplier. Visitors get the default group's (cacheable for a
 * minute); a signed-in caller (session or access token) their own group's, never another's.
 * An access token that is not valid is refused; an ended session is a visitor.
 */
export const getPublicPricing = publicRoute(
  "GET",
  "/api/pricing/public",
  "one-api",
  async (call) => {
    const signedIn = await caller(call);
    const group = signedIn?.group ?? VISITORS_GROUP;
    const [pricing, models] = await Promise.all([
      call.services.pricing.get(),
      usableModels(call.services),
    ]);
    const multiplier = pricing.groups[group] ?? 1;
    const response = ok({
      group,
      multiplier,
      units_per_usd: UNITS_PER_USD,
      models: publicPrices(pricing, models, multiplier),
    });
    response.headers["cache-control"] = signedIn ? "private, no-store" : "public, max-age=60";
    // A shared cache must not hand a visitor's answer to a signed-in caller.
    response.headers.vary = "authorization, cookie";
    return response;
  },
);

/**
 * The signed-in caller, if any. An access token that is not valid is refused (its program
 * should know); a session cookie that has ended is a visitor's (the browser keeps sending it).
 */
async function caller(call: Call<undefined>): Promise<UserRecord | undefined> {
  const { request } = call;
  if (request.headers.authorization) return (await call.services.auth.user(request)).user;
  if (!cookieValue(request, SESSION_COOKIE)) return undefined;
  try {
    return (await call.services.auth.user(request)).user;
  } catch (err) {
    if (err instanceof Unauthenticated) return undefined;
    throw err;
  }
}
