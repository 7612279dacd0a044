import { cookieValue, SESSION_COOKIE } from "../auth/authenticate";
import { publicPrices, usableModels } from "../billing/catalogue";
import { UNITS_PER_USD } from "../billing/units";
import { publicRoute } from "../http/route";
import { ok } from "./envelope";

/** The group registration gives (store/users.ts), whose prices visitors see. */
const VISITORS_GROUP = "default";

/**
 * GET /api/pricing/public (the models page): every model one may call and its price for a
 * group, after the group's multiplier. Visitors get the default group's (cacheable for a
 * minute); a signed-in caller (session or access token) their own group's, never another's.
 * A credential sent that is not valid is refused as on any /api route.
 */
export const getPublicPricing = publicRoute(
  "GET",
  "/api/pricing/public",
  "one-api",
  async (call) => {
    const signedIn =
      call.request.headers.authorization || cookieValue(call.request, SESSION_COOKIE)
        ? (await call.services.auth.user(call.request)).user
        : undefined;
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
