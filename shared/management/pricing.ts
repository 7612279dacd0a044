import type { Pricing } from "../billing/pricing";
import { Conflict } from "../errors";
import { isObject, readJsonObject } from "../http/body";
import { userRoute } from "../http/route";
import { definedOnly } from "../objects";
import { ConditionFailed } from "../store/table";
import { field, invalid, ok, requireAdmin } from "./envelope";
import { discount, modelPrices, modelPriceView, refuseUnknown } from "./model-prices";
import { groupRateLimits } from "./rate-limits";

/**
 * GET /api/pricing: the whole price list for admins. Other users see the prices they pay:
 * every model's, and their own group's multiplier only (not other groups').
 */
export const getPricing = userRoute("GET", "/api/pricing", async (call) => {
  const view = pricingView(await call.services.pricing.get());
  const { role, group } = call.principal.user;
  if (role === "admin") return ok(view);
  const { version: _version, groups, group_rate_limits, group_user_rate_limits, ...prices } = view;
  return ok({
    ...prices,
    groups: { [group]: groups[group] ?? 1 },
    group_rate_limits: { [group]: group_rate_limits[group] ?? {} },
    group_user_rate_limits: { [group]: group_user_rate_limits[group] ?? {} },
  });
});

/**
 * PUT /api/pricing (admin): replaces the price list. Sections left out keep their current
 * value; `version`, when given, must match the current one (no lost updates).
 */
export const putPricing = userRoute("PUT", "/api/pricing", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  refuseUnknown(body, PRICING_FIELDS, "The price list");
  const changes: Partial<Pricing> = definedOnly({
    models: body.models === undefined ? undefined : modelPrices(body.models),
    groups: body.groups === undefined ? undefined : groupMultipliers(body.groups),
    batchDiscount: discount(body, "batch_discount"),
    groupBatchDiscounts:
      body.group_batch_discounts === undefined
        ? undefined
        : groupDiscounts(body.group_batch_discounts),
    defaultMaxTokens: field.integer(body, "default_max_tokens", { min: 1 }),
    groupRateLimits:
      body.group_rate_limits === undefined
        ? undefined
        : groupRateLimits(body.group_rate_limits, "group_rate_limits"),
    groupUserRateLimits:
      body.group_user_rate_limits === undefined
        ? undefined
        : groupRateLimits(body.group_user_rate_limits, "group_user_rate_limits"),
  });
  try {
    const saved = await call.services.pricing.update(
      (current) => ({ ...current, ...changes }),
      field.integer(body, "version", { min: 0 }),
    );
    return ok(pricingView(saved));
  } catch (err) {
    if (err instanceof ConditionFailed) {
      throw new Conflict("The price list changed since you read it; read it again and retry.");
    }
    throw err;
  }
});

/** What PUT /api/pricing takes: GET's sections (a GET's answer can be sent back as it is). */
const PRICING_FIELDS = [
  "models",
  "groups",
  "batch_discount",
  "group_batch_discounts",
  "default_max_tokens",
  "group_rate_limits",
  "group_user_rate_limits",
  "version",
];

export function pricingView(pricing: Pricing) {
  return {
    models: Object.fromEntries(
      Object.entries(pricing.models).map(([model, price]) => [model, modelPriceView(price)]),
    ),
    groups: pricing.groups,
    batch_discount: pricing.batchDiscount,
    group_batch_discounts: pricing.groupBatchDiscounts ?? {},
    default_max_tokens: pricing.defaultMaxTokens,
    group_rate_limits: pricing.groupRateLimits ?? {},
    group_user_rate_limits: pricing.groupUserRateLimits ?? {},
    version: pricing.version,
  };
}

function groupDiscounts(value: unknown): Record<string, number> {
  if (!isObject(value)) throw invalid("group_batch_discounts must map group names to multipliers.");
  for (const group of Object.keys(value)) discount(value, group);
  return value as Record<string, number>;
}

function groupMultipliers(value: unknown): Record<string, number> {
  if (!isObject(value)) throw invalid("groups must map group names to multipliers.");
  for (const [group, multiplier] of Object.entries(value)) {
    if (typeof multiplier !== "number" || multiplier < 0)
      throw invalid(`groups.${group} must be a multiplier, 0 or more.`);
  }
  return value as Record<string, number>;
}
