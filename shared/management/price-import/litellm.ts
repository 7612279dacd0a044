import { isObject } from "../../http/body";
import { msg } from "../../messages/codes";
import { invalid } from "../envelope";
import { amount, emptyImport, type ImportedPrices, note, type PriceFields } from "./imported";

/** LiteLLM's USD per token, by key, and the sluice rate (USD per 1M tokens) it is. */
const TOKEN_RATES: readonly (readonly [string, string])[] = [
  ["input_cost_per_token", "input"],
  ["cache_read_input_token_cost", "cached_input"],
  ["cache_creation_input_token_cost", "cache_write"],
  ["cache_creation_input_token_cost_above_1hr", "cache_write_1h"],
  ["input_cost_per_audio_token", "audio_input"],
  ["cache_read_input_audio_token_cost", "cached_audio_input"],
  ["input_cost_per_image_token", "image_input"],
  ["output_cost_per_token", "output"],
  ["output_cost_per_reasoning_token", "reasoning"],
  ["output_cost_per_audio_token", "audio_output"],
  ["output_cost_per_image_token", "image_output"],
];
/**
 * The rates LiteLLM reprices past a threshold (`<key>_above_<N>k_tokens`). A rate of these the
 * threshold leaves out keeps the model's own, as LiteLLM bills it.
 */
const TIERED = [
  ["input_cost_per_token", "input"],
  ["output_cost_per_token", "output"],
  ["cache_read_input_token_cost", "cached_input"],
  ["cache_creation_input_token_cost_above_1hr", "cache_write_1h"],
  ["cache_creation_input_token_cost", "cache_write"],
] as const;
const THRESHOLD = new RegExp(`^(${TIERED.map(([key]) => key).join("|")})_above_(\\d+)(k?)_tokens$`);
/** `<quality>/<W>-x-<H>/<model>` (or `<W>-x-<H>/<model>`): the price of one image of a size. */
const IMAGE_SIZE = /^(?:([A-Za-z]+)\/)?(\d+)-x-(\d+)\/(.+)$/;
/** The kinds of call sluice relays; entries of other modes are skipped. */
const MODES = new Set([
  "chat",
  "completion",
  "responses",
  "embedding",
  "image_generation",
  "image_edit",
  "audio_speech",
  "audio_transcription",
  "moderation",
]);
const IMAGE_MODES = new Set(["image_generation", "image_edit"]);
const ANSWERING_MODES = new Set(["chat", "completion", "responses"]);
/** LiteLLM bills these providers' thresholds from the threshold itself (>=), not past it. */
const INCLUSIVE_THRESHOLDS = new Set(["xai"]);
const SOURCE = "LiteLLM model_prices_and_context_window.json";

/**
 * Prices from LiteLLM's model_prices_and_context_window.json (the whole file or some of its
 * entries): `*_cost_per_token` × 1e6 per kind, `*_above_<N>k_tokens` as a whole-call tier past
 * N thousand prompt tokens, per character (TTS) and per second (STT) prices, per-image prices
 * (an image entry's own, and its `<quality>/<W>-x-<H>/<model>` entries). Entries of modes
 * sluice does not relay, or with no price it can use, are skipped, saying why.
 */
export function fromLiteLlm(data: unknown, asOf: string): ImportedPrices {
  if (!isObject(data)) throw invalid(msg("import_litellm_not_object"));
  const imported = emptyImport();
  const images = new Map<string, Record<string, Record<string, number>>>();
  for (const [key, entry] of Object.entries(data)) {
    if (key === "sample_spec") {
      imported.skipped.push({ model: key, reason: "LiteLLM's description of its fields." });
      continue;
    }
    if (!isObject(entry)) throw invalid(msg("import_litellm_entry_invalid", { entry: key }));
    const size = IMAGE_SIZE.exec(key);
    if (size) {
      const [, quality = "default", width, height, model = ""] = size;
      const perImage = imagePrice(entry, key, Number(width) * Number(height));
      if (perImage === undefined) {
        imported.skipped.push({ model: key, reason: "No price per image in it." });
        continue;
      }
      const bySize = images.get(model) ?? {};
      bySize[`${width}x${height}`] = { ...bySize[`${width}x${height}`], [quality]: perImage };
      images.set(model, bySize);
      continue;
    }
    const mode = typeof entry.mode === "string" ? entry.mode : "chat";
    if (!MODES.has(mode)) {
      imported.skipped.push({
        model: key,
        reason: `Its mode "${mode}" is not a kind of call sluice relays.`,
      });
      continue;
    }
    if (Array.isArray(entry.tiered_pricing)) {
      imported.skipped.push({
        model: key,
        reason: "Priced by a tiered_pricing table, which is not imported: price it by hand.",
      });
      continue;
    }
    const fields = priceOf(key, entry, mode, imported);
    if (fields) imported.models[key] = fields;
    else imported.skipped.push({ model: key, reason: "No price sluice can bill by in it." });
  }
  for (const [model, bySize] of images) {
    const fields = imported.models[model] ?? {
      source: SOURCE,
      as_of: asOf,
    };
    fields.image = { ...(fields.image as Record<string, Record<string, number>>), ...bySize };
    imported.models[model] = fields;
    imported.skipped = imported.skipped.filter((s) => s.model !== model);
  }
  for (const fields of Object.values(imported.models)) fields.as_of ??= asOf;
  return imported;
}

/** One entry's price, in PUT /api/pricing's fields; undefined when it has none sluice bills by. */
function priceOf(
  model: string,
  entry: Record<string, unknown>,
  mode: string,
  imported: ImportedPrices,
): PriceFields | undefined {
  const used = new Set<string>(["mode"]);
  const read = (key: string) => {
    used.add(key);
    return amount(entry[key], `LiteLLM entry "${model}": ${key}`);
  };
  const fields: PriceFields = {};
  for (const [key, name] of TOKEN_RATES) {
    const usd = read(key);
    if (usd !== undefined) fields[name] = usd * 1e6;
  }
  // DeepSeek's entries' older name for a cache hit.
  const hit = read("input_cost_per_token_cache_hit");
  if (fields.cached_input === undefined && hit !== undefined) fields.cached_input = hit * 1e6;
  const tiers = tiersOf(model, entry, fields, read, imported);
  if (tiers.length > 0) fields.tiers = tiers;
  const perCall = read("input_cost_per_request");
  if (perCall !== undefined) fields.per_call = perCall;
  if (mode === "audio_speech") {
    const perCharacter = read("input_cost_per_character");
    if (perCharacter !== undefined) fields.tts_per_million_chars = perCharacter * 1e6;
  }
  if (mode === "audio_transcription") {
    const perSecond = read("input_cost_per_second");
    if (perSecond !== undefined) fields.stt_per_minute = perSecond * 60;
  }
  if (IMAGE_MODES.has(mode)) {
    const perImage = read("output_cost_per_image") ?? read("input_cost_per_image");
    if (perImage !== undefined) fields.image = { default: { default: perImage } };
  }
  if (Object.keys(fields).length === 0) return undefined;
  // The longest answer: sent as max_tokens (and held) when a call sets none.
  const longest = entry.max_output_tokens;
  if (
    ANSWERING_MODES.has(mode) &&
    typeof longest === "number" &&
    Number.isSafeInteger(longest) &&
    longest > 0
  )
    fields.default_max_tokens = longest;
  const left = Object.keys(entry).filter(
    (key) => !used.has(key) && /cost|price/.test(key) && !THRESHOLD.test(key),
  );
  if (left.length > 0) note(imported, model, `Not imported: ${left.sort().join(", ")}.`);
  const source =
    typeof entry.source === "string" && entry.source.length <= 500 ? entry.source : SOURCE;
  return { ...fields, source };
}

/**
 * `<rate>_above_<N>k_tokens` keys as whole-call tiers: LiteLLM reprices every token of a call
 * whose prompt (cache reads and writes included) is past N at the highest threshold passed,
 * and a threshold is one its input rate names. Each tier states every rate the model sets
 * explicitly: a tiered rate it leaves out keeps the model's own (as LiteLLM bills it), and the
 * rates LiteLLM never tiers (audio, image, reasoning) stay the model's, not the tier's input
 * or output they would fall back to.
 */
function tiersOf(
  model: string,
  entry: Record<string, unknown>,
  base: PriceFields,
  read: (key: string) => number | undefined,
  imported: ImportedPrices,
): PriceFields[] {
  const byThreshold = new Map<number, PriceFields>();
  const orphans: string[] = [];
  const inclusive = INCLUSIVE_THRESHOLDS.has(String(entry.litellm_provider));
  const keys = Object.keys(entry).flatMap((key) => {
    const match = THRESHOLD.exec(key);
    if (!match) return [];
    const name = TIERED.find(([rate]) => rate === match[1])?.[1] as string;
    return [{ key, name, tokens: Number(match[2]) * (match[3] === "k" ? 1000 : 1) }];
  });
  for (const { key, name, tokens } of keys) {
    const usd = name === "input" ? read(key) : undefined;
    if (usd !== undefined) byThreshold.set(tokens, { input: usd * 1e6 });
  }
  for (const { key, name, tokens } of keys) {
    if (name === "input") continue;
    const rates = byThreshold.get(tokens);
    const usd = read(key);
    if (!rates) orphans.push(key);
    else if (usd !== undefined) rates[name] = usd * 1e6;
  }
  if (orphans.length > 0)
    note(
      imported,
      model,
      `Not imported (no input rate past that threshold): ${orphans.join(", ")}.`,
    );
  const kept = Object.keys(base);
  return [...byThreshold.entries()]
    .sort(([a], [b]) => a - b)
    .map(([tokens, rates]) => {
      for (const name of kept) rates[name] ??= base[name];
      return { above: inclusive ? tokens - 1 : tokens, basis: "whole", rates };
    });
}

/** USD per image of a `<quality>/<W>-x-<H>/<model>` entry: its own, or per pixel × pixels. */
function imagePrice(
  entry: Record<string, unknown>,
  key: string,
  pixels: number,
): number | undefined {
  const what = (name: string) => `LiteLLM entry "${key}": ${name}`;
  const perImage =
    amount(entry.input_cost_per_image, what("input_cost_per_image")) ??
    amount(entry.output_cost_per_image, what("output_cost_per_image"));
  if (perImage !== undefined) return perImage;
  // Per pixel × pixels, to the millionth of a dollar as prices are kept.
  const perPixel =
    (amount(entry.input_cost_per_pixel, what("input_cost_per_pixel")) ?? 0) +
    (amount(entry.output_cost_per_pixel, what("output_cost_per_pixel")) ?? 0);
  return perPixel > 0 ? Math.round(perPixel * pixels * 1e6) / 1e6 : undefined;
}
