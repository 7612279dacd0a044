import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../json-limits";
import { msg } from "../../messages/codes";
import { invalid } from "../envelope";

/** A model's price in the fields PUT /api/pricing takes (`input`, `cached_input`, `tiers`…). */
export type PriceFields = Record<string, unknown>;

/** What an import read from another gateway's price data, before it is checked and merged. */
export interface ImportedPrices {
  models: Record<string, PriceFields>;
  /** Group multipliers (new-api's GroupRatio). */
  groups: Record<string, number>;
  /** Entries of the data that are not imported, and why. */
  skipped: { model: string; reason: string }[];
  /** Per model: what its import left out or assumed. */
  notes: Record<string, string[]>;
  /** About the data as a whole. */
  remarks: string[];
}

export function emptyImport(): ImportedPrices {
  return { models: {}, groups: {}, skipped: [], notes: {}, remarks: [] };
}

export function note(imported: ImportedPrices, model: string, text: string): void {
  const notes = imported.notes[model] ?? [];
  notes.push(text);
  imported.notes[model] = notes;
}

/** JSON sent as a text (pasted, or a new-api option's value): parsed, with a clear refusal. */
export function parsedJson(text: string, what: string): unknown {
  if (nestsDeeperThan(text))
    throw invalid(msg("import_too_deep", { field: what, max: MAX_JSON_DEPTH }));
  try {
    return JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw invalid(msg("import_not_json", { field: what, detail }));
  }
}

/** A price or ratio of the data: a finite number, 0 or more (numeric text too, as LiteLLM reads). */
export function amount(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0)
    throw invalid(
      msg("import_amount_invalid", { field: what, value: String(JSON.stringify(value)) }),
    );
  return n;
}
