import { setTimeout as sleep } from "node:timers/promises";
import type { ModelPrice, Pricing } from "../billing/pricing";
import { Conflict } from "../errors";
import { isObject, readJsonObject } from "../http/body";
import { userRoute } from "../http/route";
import { msg } from "../messages/codes";
import { canonicalJson, definedOnly } from "../objects";
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
  const changes = sectionChanges(body);
  try {
    const saved = await call.services.pricing.update(
      (current) => ({ ...current, ...changes }),
      field.integer(body, "version", { min: 0 }),
    );
    return ok(pricingView(saved));
  } catch (err) {
    if (err instanceof ConditionFailed) {
      throw new Conflict(msg("price_list_changed"));
    }
    throw err;
  }
});

/**
 * How often PATCH reads the list again when another admin saved it between its read and write,
 * each time after a random pause of up to 10 ms per attempt so far (capped at 200 ms): sixteen
 * edits at once all land (management.test.ts).
 */
const PATCH_ATTEMPTS = 60;

/**
 * PATCH /api/pricing (admin): changes the models it names and leaves every other one as it
 * is, so admins (and the console, the CLI, an import script) editing different models never
 * undo or block each other. `models` sets each model named (`null` removes it); `expected`,
 * when given, holds each named model's price as the caller read it (`null`: it had none), and
 * if another admin changed one of those since, the answer is 409 naming them and nothing is
 * saved. The other sections, when given, replace the current ones as PUT's do.
 */
export const patchPricing = userRoute("PATCH", "/api/pricing", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  refuseUnknown(body, PATCH_FIELDS, "The price change");
  const { set, removed } = modelChanges(body.models);
  const expected = body.expected === undefined ? undefined : expectedPrices(body.expected);
  const { models: _models, ...sections } = sectionChanges({ ...body, models: undefined });
  for (let attempt = 1; ; attempt++) {
    try {
      const saved = await call.services.pricing.update((current) => {
        const changed = Object.keys(expected ?? {}).filter(
          (model) => !sameJson(viewOf(current.models[model]), expected?.[model] ?? null),
        );
        if (changed.length > 0)
          throw new Conflict(
            msg("prices_changed_by_another", { models: changed.join(", ") }),
            "expected",
          );
        const models = { ...current.models, ...set };
        for (const model of removed) delete models[model];
        return { ...current, ...sections, models };
      });
      return ok(pricingView(saved));
    } catch (err) {
      // Saved by someone else between our read and write: the change is made again on theirs.
      if (!(err instanceof ConditionFailed)) throw err;
      if (attempt === PATCH_ATTEMPTS) throw new Conflict(msg("price_list_kept_changing"));
      await sleep(Math.random() * Math.min(200, 10 * attempt));
    }
  }
});

/** `models` of PATCH: the prices to set (validated as PUT's) and the models to remove. */
function modelChanges(value: unknown): { set: Record<string, ModelPrice>; removed: string[] } {
  if (value === undefined) return { set: {}, removed: [] };
  if (!isObject(value)) throw invalid(msg("prices_patch_not_object"));
  const removed = Object.keys(value).filter((model) => value[model] === null);
  const priced = Object.fromEntries(Object.entries(value).filter(([, price]) => price !== null));
  return { set: modelPrices(priced), removed };
}

function expectedPrices(value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw invalid(msg("prices_expected_not_object"));
  return value;
}

function viewOf(price: ModelPrice | undefined): unknown {
  return price === undefined ? null : modelPriceView(price);
}

/** Equal as JSON values, whatever the order of object keys. */
function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

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

/** What PATCH takes: the models to change, the prices they were read at, and PUT's other sections. */
const PATCH_FIELDS = ["expected", ...PRICING_FIELDS.filter((name) => name !== "version")];

/** The sections a PUT or PATCH body gives, validated; those it leaves out stay as they are. */
function sectionChanges(body: Record<string, unknown>): Partial<Pricing> {
  return definedOnly({
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
}

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
  if (!isObject(value)) throw invalid(msg("group_discounts_not_object"));
  for (const group of Object.keys(value)) discount(value, group);
  return value as Record<string, number>;
}

function groupMultipliers(value: unknown): Record<string, number> {
  if (!isObject(value)) throw invalid(msg("group_multipliers_not_object"));
  for (const [group, multiplier] of Object.entries(value)) {
    if (typeof multiplier !== "number" || multiplier < 0)
      throw invalid(msg("group_multiplier_invalid", { field: `groups.${group}` }));
  }
  return value as Record<string, number>;
}
