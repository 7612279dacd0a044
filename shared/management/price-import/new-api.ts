import { isObject } from "../../http/body";
import { msg } from "../../messages/codes";
import { invalid } from "../envelope";
import {
  amount,
  emptyImport,
  type ImportedPrices,
  note,
  type PriceFields,
  parsedJson,
} from "./imported";

/**
 * new-api's price settings, by option key (its `options` table, GET /api/option/), and the
 * names its ratio exchange uses for them (GET /api/ratio_config, /api/pricing).
 */
const OPTIONS = {
  ModelRatio: "model_ratio",
  CompletionRatio: "completion_ratio",
  CacheRatio: "cache_ratio",
  CreateCacheRatio: "create_cache_ratio",
  ModelPrice: "model_price",
  ImageRatio: "image_ratio",
  AudioRatio: "audio_ratio",
  AudioCompletionRatio: "audio_completion_ratio",
  GroupRatio: "group_ratio",
} as const;
type Option = keyof typeof OPTIONS;
const BY_SNAKE = new Map<string, Option>(
  Object.entries(OPTIONS).map(([option, snake]) => [snake, option as Option]),
);
/** The settings that multiply a model's input price. */
const RATIOS = [
  "CompletionRatio",
  "CacheRatio",
  "CreateCacheRatio",
  "ImageRatio",
  "AudioRatio",
  "AudioCompletionRatio",
] as const;
/** Price settings new-api has that this import does not take (said in the diff). */
const NOT_IMPORTED = [
  "GroupGroupRatio",
  "ImageCompletionRatio",
  "ModelGroupPrice",
  "CompletionPrice",
];

/** new-api's own defaults where an option does not name a model. */
const CREATE_CACHE_RATIO = 1.25;
/** new-api prices a 1-hour cache write at CreateCacheRatio × 6 / 3.75 (1.6), a fixed rule. */
const ONE_HOUR_WRITE = 6 / 3.75;
/** Quota units per USD (common.QuotaPerUnit): ratio 1 = 1 unit a token = $2 per 1M tokens. */
const QUOTA_PER_UNIT = 500_000;

/** The settings of an export, by option: model (or group) → number, checked. */
type Settings = Partial<Record<Option, Record<string, number>>> & {
  quotaPerUnit?: number;
  /** Models new-api bills by an expression (billing_mode "tiered_expr"). */
  expressions: Set<string>;
  /** Price settings of the export this import does not take. */
  ignored: Set<string>;
};

/**
 * Prices from new-api's ratio settings, in any shape new-api exports them: GET /api/option/
 * (`{data: [{key, value}]}`, each value a JSON text), the options as one object
 * (`{"ModelRatio": {…} or "{…}", …}`, as copied from its settings page), GET /api/ratio_config
 * (`{data: {model_ratio, completion_ratio, …}}`) or GET /api/pricing (`{data: [{model_name,
 * quota_type, model_ratio, …}], group_ratio}`). USD per 1M tokens = ratio × 1,000,000 /
 * QuotaPerUnit (×2 at new-api's 500,000); every other ratio multiplies the input price.
 */
export function fromNewApi(data: unknown, asOf: string): ImportedPrices {
  const settings = readSettings(data);
  const imported = emptyImport();
  const perRatio = 1_000_000 / (settings.quotaPerUnit ?? QUOTA_PER_UNIT);
  const ratio = (option: Option, model: string) => settings[option]?.[model];
  const priced = new Set([
    ...Object.keys(settings.ModelRatio ?? {}),
    ...Object.keys(settings.ModelPrice ?? {}),
  ]);
  for (const option of RATIOS) {
    for (const model of Object.keys(settings[option] ?? {})) {
      if (!priced.has(model) && !imported.skipped.some((s) => s.model === model))
        imported.skipped.push({
          model,
          reason: `${option} names it, but neither ModelRatio nor ModelPrice prices it (new-api cannot bill it either).`,
        });
    }
  }
  for (const model of [...priced].sort()) {
    if (settings.expressions.has(model)) {
      imported.skipped.push({
        model,
        reason:
          'new-api bills it by an expression (billing_mode "tiered_expr"), which is not imported: price it by hand, or import its LiteLLM entry.',
      });
      continue;
    }
    const fields: PriceFields = { source: "new-api ratio export", as_of: asOf };
    const perCall = ratio("ModelPrice", model);
    if (perCall !== undefined) {
      // As new-api does: a model with a price per call is billed so, its ratios ignored.
      fields.per_call = perCall;
      const ratios = (["ModelRatio", ...RATIOS] as const).filter(
        (o) => ratio(o, model) !== undefined,
      );
      if (ratios.length > 0)
        note(
          imported,
          model,
          `ModelPrice wins over ${ratios.join(", ")}, as in new-api: billed per call.`,
        );
      imported.models[model] = fields;
      continue;
    }
    const input = (ratio("ModelRatio", model) as number) * perRatio;
    const times = (option: Option) => {
      const value = ratio(option, model);
      return value === undefined ? undefined : input * value;
    };
    const completion = ratio("CompletionRatio", model);
    if (completion === undefined)
      note(
        imported,
        model,
        "No CompletionRatio: output at the input price (new-api's default of 1; its built-in ratios for known models are not applied).",
      );
    const write = ratio("CreateCacheRatio", model) ?? CREATE_CACHE_RATIO;
    const audio = ratio("AudioRatio", model);
    const audioCompletion = ratio("AudioCompletionRatio", model);
    Object.assign(fields, {
      input,
      output: input * (completion ?? 1),
      cached_input: times("CacheRatio"),
      cache_write: input * write,
      cache_write_1h: input * write * ONE_HOUR_WRITE,
      image_input: times("ImageRatio"),
      audio_input: times("AudioRatio"),
      // new-api: audio out × AudioRatio × AudioCompletionRatio × the model's ratio.
      audio_output:
        audio === undefined && audioCompletion === undefined
          ? undefined
          : input * (audio ?? 1) * (audioCompletion ?? 1),
    });
    for (const [name, value] of Object.entries(fields))
      if (value === undefined) delete fields[name];
    imported.models[model] = fields;
  }
  imported.groups = settings.GroupRatio ?? {};
  if (Object.keys(imported.models).length > 0)
    imported.remarks.push(
      `Cache writes are priced at CreateCacheRatio × input (${CREATE_CACHE_RATIO} where it names no model), and 1-hour writes at 1.6 times that, as new-api bills them.`,
    );
  for (const option of settings.ignored)
    imported.remarks.push(`${option} is not imported: sluice has no such price.`);
  if (settings.quotaPerUnit !== undefined && settings.quotaPerUnit !== QUOTA_PER_UNIT)
    imported.remarks.push(
      `QuotaPerUnit is ${settings.quotaPerUnit}: a ratio of 1 is $${perRatio} per 1M tokens.`,
    );
  return imported;
}

/** The export's settings, whatever its shape. */
function readSettings(data: unknown): Settings {
  const settings: Settings = { expressions: new Set(), ignored: new Set() };
  const take = (option: Option, value: unknown, what: string) => {
    const map = isObject(value) ? value : parsedJson(textOf(value, what), what);
    if (!isObject(map)) throw invalid(msg("import_not_number_map", { field: what }));
    const numbers: Record<string, number> = {};
    for (const [name, raw] of Object.entries(map))
      numbers[name] = amount(raw, `${what}[${JSON.stringify(name)}]`) as number;
    settings[option] = { ...settings[option], ...numbers };
  };
  const read = (value: unknown, top: boolean): boolean => {
    if (Array.isArray(value)) return readList(value, settings, take);
    if (!isObject(value)) return false;
    let found = false;
    // The answers of new-api's API: {success, message, data}, and /api/pricing's group_ratio.
    if (top && "data" in value && ("success" in value || "message" in value)) {
      if (value.group_ratio !== undefined) {
        take("GroupRatio", value.group_ratio, "new-api group_ratio");
        found = true;
      }
      return read(value.data, false) || found;
    }
    for (const [key, raw] of Object.entries(value)) {
      const option = key in OPTIONS ? (key as Option) : BY_SNAKE.get(key);
      if (option) {
        take(option, raw, `new-api ${key}`);
        found = true;
      } else if (key === "billing_mode") {
        expressionsOf(raw, settings);
      } else if (key === "QuotaPerUnit") {
        settings.quotaPerUnit = quotaPerUnit(raw);
      } else if (NOT_IMPORTED.includes(key)) {
        settings.ignored.add(key);
      }
    }
    return found;
  };
  if (!read(data, true))
    throw invalid(msg("import_new_api_empty", { options: Object.keys(OPTIONS).join(", ") }));
  return settings;
}

/** GET /api/option/'s list of {key, value}, or GET /api/pricing's list of models. */
function readList(
  items: unknown[],
  settings: Settings,
  take: (option: Option, value: unknown, what: string) => void,
): boolean {
  let found = false;
  for (const [i, item] of items.entries()) {
    if (!isObject(item)) throw invalid(msg("import_new_api_item_invalid", { field: `data[${i}]` }));
    if (typeof item.key === "string") {
      const option = item.key in OPTIONS ? (item.key as Option) : undefined;
      if (option) {
        take(option, item.value, `new-api option ${item.key}`);
        found = true;
      } else if (item.key === "QuotaPerUnit") {
        settings.quotaPerUnit = quotaPerUnit(item.value);
      } else if (NOT_IMPORTED.includes(item.key)) {
        settings.ignored.add(item.key);
      }
      continue;
    }
    const model = item.model_name;
    if (typeof model !== "string" || model === "")
      throw invalid(msg("import_new_api_item_invalid", { field: `data[${i}]` }));
    // quota_type 1: priced per call; 0: by ratios.
    const perCall = item.quota_type === 1;
    for (const [snake, option] of BY_SNAKE) {
      if (option === "GroupRatio" || item[snake] === undefined || item[snake] === null) continue;
      if (perCall !== (option === "ModelPrice")) continue;
      take(option, { [model]: item[snake] }, `new-api data[${i}]`);
      found = true;
    }
    if (item.billing_mode === "tiered_expr") settings.expressions.add(model);
  }
  return found;
}

function expressionsOf(value: unknown, settings: Settings): void {
  if (!isObject(value)) return;
  for (const [model, mode] of Object.entries(value))
    if (mode === "tiered_expr") settings.expressions.add(model);
}

function quotaPerUnit(value: unknown): number {
  const n = amount(value, "new-api QuotaPerUnit");
  if (!n) throw invalid(msg("import_quota_per_unit_invalid"));
  return n;
}

function textOf(value: unknown, what: string): string {
  if (typeof value !== "string") throw invalid(msg("import_not_number_map", { field: what }));
  return value;
}
