import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type ModelPrice, type Pricing, requireStorable } from "../billing/pricing";
import { Conflict } from "../errors";
import { readJsonObject } from "../http/body";
import { userRoute } from "../http/route";
import { msg } from "../messages/codes";
import { canonicalJson, definedOnly } from "../objects";
import { ConditionFailed } from "../store/table";
import { field, invalid, ok, requireAdmin } from "./envelope";
import { date, modelPrices, refuseUnknown } from "./model-prices";
import { type ModelDiff, modelDiff } from "./price-import/diff";
import { type ImportedPrices, parsedJson } from "./price-import/imported";
import { fromLiteLlm } from "./price-import/litellm";
import { fromNewApi } from "./price-import/new-api";

const FORMATS = {
  "new-api": fromNewApi,
  litellm: fromLiteLlm,
} as const satisfies Record<string, (data: unknown, asOf: string) => ImportedPrices>;
type Format = keyof typeof FORMATS;

const IMPORT_FIELDS = ["format", "data", "dry_run", "models", "as_of", "version", "basis"];
const MOST_MODELS = 10_000;

/**
 * POST /api/pricing/import (admin): prices from another gateway's price data — new-api's ratio
 * export or LiteLLM's model_prices_and_context_window.json — as a diff against the price list
 * (per model: added, changed or unchanged, each field old → new; the entries skipped and why),
 * and, without `dry_run`, saved. An imported model's price is replaced by the imported one, but
 * for sluice's own settings of it (default_max_tokens, batch_discount, bills_mapped_calls);
 * models the import does not name are untouched. With `basis` (the one a dry run answered: a
 * digest of the current prices of exactly what the import changes), a change since to one of
 * those is a 409 and nothing is saved, while other admins' changes to other models are kept
 * (the save is made again on them); with `version`, any change to the list since is a 409.
 */
export const importPricing = userRoute("POST", "/api/pricing/import", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  refuseUnknown(body, IMPORT_FIELDS, "The import");
  const format = body.format;
  if (typeof format !== "string" || !(format in FORMATS))
    throw invalid(msg("import_format_invalid", { allowed: Object.keys(FORMATS).join(", ") }));
  if (body.data === undefined || body.data === null || body.data === "")
    throw invalid(msg("import_data_required"));
  const data = typeof body.data === "string" ? parsedJson(body.data, "data") : body.data;
  const asOf =
    date(body, "as_of", "import") ?? new Date(call.services.clock.now()).toISOString().slice(0, 10);
  const dryRun = field.boolean(body, "dry_run") ?? false;
  const version = field.integer(body, "version", { min: 0 });
  const basis = field.string(body, "basis", { max: 100 });
  const imported = chosen(FORMATS[format as Format](data, asOf), body.models, format);
  // Checked as PUT /api/pricing checks a price: what an import saves, a PUT could have.
  const prices = modelPrices(imported.models);
  const answer = (diff: ReturnType<typeof merged>["diff"], saved: boolean, current: Pricing) =>
    ok({
      format,
      dry_run: dryRun,
      saved,
      version: current.version,
      basis: basisOf(current, imported),
      ...diff,
    });
  if (dryRun) {
    const current = await call.services.pricing.current();
    const { pricing, diff } = merged(current, prices, imported);
    requireStorable(pricing);
    return answer(diff, false, current);
  }
  for (let attempt = 1; ; attempt++) {
    let diff: ReturnType<typeof merged>["diff"] | undefined;
    try {
      const saved = await call.services.pricing.update((current) => {
        if (basis !== undefined && basis !== basisOf(current, imported))
          throw new Conflict(msg("import_changed_since_preview"), "basis");
        const next = merged(current, prices, imported);
        diff = next.diff;
        return next.pricing;
      }, version);
      return answer(diff as ReturnType<typeof merged>["diff"], true, saved);
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      // Saved by someone else between the read and the write: with a basis, the import is made
      // again on theirs (its basis checked again); with a version, that is the conflict.
      if (version !== undefined || attempt === SAVE_ATTEMPTS)
        throw new Conflict(msg("price_list_changed_preview"));
      await sleep(Math.random() * Math.min(200, 10 * attempt));
    }
  }
});

/** How often a save with a basis is made again on another admin's save in between. */
const SAVE_ATTEMPTS = 60;

/**
 * A digest of the current prices of what an import changes (its models, and the group
 * multipliers when it has any): what its preview showed the diff against.
 */
function basisOf(current: Pricing, imported: ImportedPrices): string {
  const models = Object.fromEntries(
    Object.keys(imported.models).map((model) => [model, current.models[model] ?? null]),
  );
  const groups = Object.keys(imported.groups).length > 0 ? current.groups : null;
  return createHash("sha256")
    .update(canonicalJson({ models, groups }))
    .digest("base64url")
    .slice(0, 22);
}

/** The import of the models `names` lists (all when it lists none); groups only with all. */
function chosen(imported: ImportedPrices, names: unknown, format: string): ImportedPrices {
  if (names === undefined || names === null) return imported;
  if (
    !Array.isArray(names) ||
    names.length > MOST_MODELS ||
    !names.every((name) => typeof name === "string" && name !== "")
  )
    throw invalid(msg("import_models_invalid", { max: MOST_MODELS }));
  const wanted = new Set(names as string[]);
  const known = new Set([
    ...Object.keys(imported.models),
    ...imported.skipped.map((skip) => skip.model),
  ]);
  const unknown = [...wanted].filter((name) => !known.has(name));
  if (unknown.length > 0)
    throw invalid(msg("import_models_unknown", { models: unknown.join(", "), format }));
  const pick = <T>(record: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).filter(([model]) => wanted.has(model)));
  return {
    models: pick(imported.models),
    groups: {},
    skipped: imported.skipped.filter((skip) => wanted.has(skip.model)),
    notes: pick(imported.notes),
    remarks:
      Object.keys(imported.groups).length > 0
        ? [
            ...imported.remarks,
            "Group multipliers are imported only with every model (no `models`).",
          ]
        : imported.remarks,
  };
}

/** The price list with the imported prices in, and what that changes. */
function merged(current: Pricing, prices: Record<string, ModelPrice>, imported: ImportedPrices) {
  const models = { ...current.models };
  const diffs: ModelDiff[] = [];
  for (const [model, price] of Object.entries(prices).sort(([a], [b]) => a.localeCompare(b))) {
    const before = current.models[model];
    // sluice's own settings of a model are not a price another gateway has: kept.
    const after: ModelPrice = {
      ...price,
      ...definedOnly({
        defaultMaxTokens: before?.defaultMaxTokens,
        batchDiscount: before?.batchDiscount,
        billsMappedCalls: before?.billsMappedCalls,
      }),
    };
    models[model] = after;
    diffs.push(modelDiff(model, before, after, imported.notes[model]));
  }
  const groups = Object.entries(imported.groups)
    .filter(([group, multiplier]) => current.groups[group] !== multiplier)
    .map(([group, multiplier]) => ({ group, old: current.groups[group] ?? null, new: multiplier }));
  const count = (status: ModelDiff["status"]) => diffs.filter((d) => d.status === status).length;
  return {
    pricing: { ...current, models, groups: { ...current.groups, ...imported.groups } },
    diff: {
      summary: {
        added: count("added"),
        changed: count("changed"),
        unchanged: count("unchanged"),
        skipped: imported.skipped.length,
        untouched: Object.keys(current.models).filter((model) => !prices[model]).length,
      },
      models: diffs,
      groups,
      skipped: imported.skipped,
      remarks: imported.remarks,
    },
  };
}
