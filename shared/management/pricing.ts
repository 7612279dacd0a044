import type { ModelPrice, Pricing } from "../billing/pricing";
import { Conflict } from "../errors";
import { isObject, readJsonObject } from "../http/body";
import { userRoute } from "../http/route";
import { definedOnly } from "../objects";
import { ConditionFailed } from "../store/table";
import { field, invalid, ok, requireAdmin } from "./envelope";
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

export function pricingView(pricing: Pricing) {
  return {
    models: Object.fromEntries(
      Object.entries(pricing.models).map(([model, price]) => [
        model,
        definedOnly({
          input: price.input,
          output: price.output,
          image: price.image,
          tts_per_million_chars: price.ttsPerMillionChars,
          stt_per_minute: price.sttPerMinute,
          default_max_tokens: price.defaultMaxTokens,
          batch_discount: price.batchDiscount,
          free: price.free,
        }),
      ]),
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

function modelPrices(value: unknown): Record<string, ModelPrice> {
  if (!isObject(value)) throw invalid("models must map model names to prices.");
  const models: Record<string, ModelPrice> = {};
  for (const [model, raw] of Object.entries(value)) {
    if (!isObject(raw)) throw invalid(`models.${model} must be an object.`);
    const price: ModelPrice = definedOnly({
      input: usd(raw, "input", model),
      output: usd(raw, "output", model),
      image: raw.image === undefined ? undefined : imagePrices(raw.image, model),
      ttsPerMillionChars: usd(raw, "tts_per_million_chars", model),
      sttPerMinute: usd(raw, "stt_per_minute", model),
      defaultMaxTokens: field.integer(raw, "default_max_tokens", { min: 1 }),
      batchDiscount: discount(raw, "batch_discount"),
      free: field.boolean(raw, "free"),
    });
    if (Object.keys(price).length === 0)
      throw invalid(`models.${model} sets no price; use {"free": true} for a free model.`);
    models[model] = price;
  }
  return models;
}

function usd(raw: Record<string, unknown>, name: string, model: string): number | undefined {
  const value = raw[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw invalid(`models.${model}.${name} must be a price in USD, 0 or more.`);
  }
  // Prices are kept to the millionth of a dollar, as cost computation uses them.
  return Math.round(value * 1e6) / 1e6;
}

function imagePrices(value: unknown, model: string): Record<string, Record<string, number>> {
  const problem = invalid(`models.${model}.image must map sizes to {quality: USD per image}.`);
  if (!isObject(value)) throw problem;
  const bySize: Record<string, Record<string, number>> = {};
  for (const [size, qualities] of Object.entries(value)) {
    if (!isObject(qualities)) throw problem;
    bySize[size] = {};
    for (const [quality, price] of Object.entries(qualities)) {
      if (typeof price !== "number" || price < 0) throw problem;
      (bySize[size] as Record<string, number>)[quality] = price;
    }
  }
  return bySize;
}

/** A batch discount: the multiple of the price a batch line costs, from 0 to 1. */
function discount(raw: Record<string, unknown>, name: string): number | undefined {
  const value = field.number(raw, name, { min: 0 });
  if (value !== undefined && value > 1) throw invalid(`${name} is a multiplier between 0 and 1.`);
  return value;
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
