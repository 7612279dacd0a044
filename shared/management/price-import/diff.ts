import type { ModelPrice } from "../../billing/pricing";
import { modelPriceView } from "../model-prices";

/** One field of a price an import changes: `old` null when it adds it, `new` null when it drops it. */
export interface FieldChange {
  field: string;
  old: unknown;
  new: unknown;
}

export interface ModelDiff {
  model: string;
  status: "added" | "changed" | "unchanged";
  changes: FieldChange[];
  notes?: string[];
}

/**
 * What replacing `before` with `after` changes, field by field, in PUT /api/pricing's names:
 * a tier's rate is `tiers[0].rates.input`, an image price `image.1024x1024.hd`.
 */
export function modelDiff(
  model: string,
  before: ModelPrice | undefined,
  after: ModelPrice,
  notes?: string[],
): ModelDiff {
  const old = before ? flat(modelPriceView(before)) : new Map<string, unknown>();
  const next = flat(modelPriceView(after));
  const changes: FieldChange[] = [];
  for (const field of new Set([...old.keys(), ...next.keys()])) {
    const was = old.get(field) ?? null;
    const now = next.get(field) ?? null;
    if (was !== now) changes.push({ field, old: was, new: now });
  }
  return {
    model,
    status: !before ? "added" : changes.length > 0 ? "changed" : "unchanged",
    changes,
    ...(notes?.length ? { notes } : {}),
  };
}

/** Every leaf of a JSON value by its path. */
function flat(value: unknown, path = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) flat(item, `${path}[${i}]`, out);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) flat(item, path ? `${path}.${key}` : key, out);
  } else {
    out.set(path, value);
  }
  return out;
}
