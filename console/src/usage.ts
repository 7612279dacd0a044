import type { LogRow } from "./api";
import type { Key } from "./i18n";

/**
 * The token rates of a price, by their API names, in the groups the pricing page shows them
 * (text, cache, audio, image). A rate left empty is billed at the rate it is a part of.
 */
export const RATE_GROUPS: readonly { title: Key; rates: readonly (readonly [string, Key])[] }[] = [
  {
    title: "rates_text",
    rates: [
      ["input", "rate_input"],
      ["output", "rate_output"],
      ["reasoning", "rate_reasoning"],
    ],
  },
  {
    title: "rates_cache",
    rates: [
      ["cached_input", "rate_cached_input"],
      ["cache_write", "rate_cache_write"],
      ["cache_write_1h", "rate_cache_write_1h"],
    ],
  },
  {
    title: "rates_audio",
    rates: [
      ["audio_input", "rate_audio_input"],
      ["cached_audio_input", "rate_cached_audio_input"],
      ["audio_output", "rate_audio_output"],
    ],
  },
  {
    title: "rates_image",
    rates: [
      ["image_input", "rate_image_input"],
      ["cached_image_input", "rate_cached_image_input"],
      ["image_output", "rate_image_output"],
    ],
  },
];

export const TOKEN_RATES: readonly (readonly [string, Key])[] = RATE_GROUPS.flatMap(
  (group) => group.rates,
);

type Count = Extract<
  keyof LogRow,
  `${string}_tokens` | "calls" | "seconds" | "characters" | "image_count"
>;

/** A log line's kinds of usage, in order: its count, its cost's name, and its label. */
export const USAGE_KINDS: readonly { count: Count; cost: string; label: Key }[] = [
  { count: "input_tokens", cost: "input", label: "rate_input" },
  { count: "cached_input_tokens", cost: "cached_input", label: "rate_cached_input" },
  { count: "cache_write_tokens", cost: "cache_write", label: "rate_cache_write" },
  { count: "cache_write_1h_tokens", cost: "cache_write_1h", label: "rate_cache_write_1h" },
  { count: "audio_input_tokens", cost: "audio_input", label: "rate_audio_input" },
  {
    count: "cached_audio_input_tokens",
    cost: "cached_audio_input",
    label: "rate_cached_audio_input",
  },
  { count: "image_input_tokens", cost: "image_input", label: "rate_image_input" },
  {
    count: "cached_image_input_tokens",
    cost: "cached_image_input",
    label: "rate_cached_image_input",
  },
  { count: "output_tokens", cost: "output", label: "rate_output" },
  { count: "reasoning_tokens", cost: "reasoning", label: "rate_reasoning" },
  { count: "audio_output_tokens", cost: "audio_output", label: "rate_audio_output" },
  { count: "image_output_tokens", cost: "image_output", label: "rate_image_output" },
  { count: "calls", cost: "per_call", label: "kind_calls" },
  { count: "image_count", cost: "image", label: "kind_images" },
  { count: "characters", cost: "tts", label: "kind_characters" },
  { count: "seconds", cost: "stt", label: "kind_seconds" },
];

/** The kinds a line has, with their counts and costs (units), in order. */
export function usageKinds(row: LogRow): { label: Key; count: number; cost?: number }[] {
  return USAGE_KINDS.flatMap(({ count, cost, label }) => {
    const n = row[count];
    return typeof n === "number" && n > 0 ? [{ label, count: n, cost: row.costs?.[cost] }] : [];
  });
}

/**
 * The kinds worth a glance in the row itself: those that are not plain input and output
 * text (a cached call shows its cached tokens without opening its details).
 */
export const NOTABLE: ReadonlySet<Key> = new Set<Key>(
  USAGE_KINDS.filter(
    (kind) =>
      kind.count !== "input_tokens" &&
      kind.count !== "output_tokens" &&
      kind.count !== "calls" &&
      kind.count !== "image_count" &&
      kind.count !== "characters" &&
      kind.count !== "seconds",
  ).map((kind) => kind.label),
);
