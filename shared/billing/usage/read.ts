/**
 * Reading counts out of an upstream's usage object without trusting it. Every reader in this
 * folder goes through these, so every reader treats a hostile value alike.
 */
import type { Metered } from "../metered";

/** No reader reports more: beyond it integer arithmetic is inexact, and no call comes near it. */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

export type Fields = Readonly<Record<string, unknown>>;

/** `value` as an object whose fields can be read; null, arrays and scalars are none. */
export function objectOf(value: unknown): Fields | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Fields)
    : undefined;
}

/** An own field only: inherited names (`constructor`, `toString`) are never read as usage. */
export function fieldOf(object: Fields | undefined, name: string): unknown {
  return object !== undefined && Object.hasOwn(object, name) ? object[name] : undefined;
}

const DIGITS = /^\d{1,20}$/;

/**
 * A count as the upstream reported it, or undefined when it reported none. A count is a finite
 * number or a string of decimal digits (some hosts quote integers); a negative one is 0, a
 * fraction rounds up (as the bill does), and one above MAX_COUNT is MAX_COUNT. NaN, infinities,
 * booleans, null, other strings and objects are no count at all.
 */
export function countOf(value: unknown): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && DIGITS.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isFinite(n)) return undefined;
  return Math.min(Math.max(Math.ceil(n), 0), MAX_COUNT);
}

/** The count in `object[name]` (see countOf). */
export function count(object: Fields | undefined, name: string): number | undefined {
  return countOf(fieldOf(object, name));
}

/** A sum of counts, capped like one. */
export function sum(...counts: (number | undefined)[]): number {
  return Math.min(
    counts.reduce<number>((total, n) => total + (n ?? 0), 0),
    MAX_COUNT,
  );
}

/**
 * The largest of several fields that spell the same count (a host fills the one it uses and
 * leaves the others absent or 0), or undefined when none is reported.
 */
export function largest(...counts: (number | undefined)[]): number | undefined {
  const reported = counts.filter((n): n is number => n !== undefined);
  return reported.length > 0 ? Math.max(...reported) : undefined;
}

/**
 * Cuts `parts` out of `total` in order, each no larger than what is left of it, so a detail
 * that claims more than its whole is cut down instead of counted twice. Returns the parts as
 * cut, then what is left.
 */
export function carve<const Parts extends readonly (number | undefined)[]>(
  total: number,
  parts: Parts,
): [...{ [K in keyof Parts]: number }, number] {
  let left = total;
  const cut = parts.map((part) => {
    const taken = Math.min(part ?? 0, left);
    left -= taken;
    return taken;
  });
  return [...cut, left] as unknown as [...{ [K in keyof Parts]: number }, number];
}

/** The kinds that were used: zero and absent counts are left out. */
export function metered(kinds: Metered): Metered {
  return Object.fromEntries(
    Object.entries(kinds).filter(([, value]) => (typeof value === "number" ? value > 0 : false)),
  ) as Metered;
}

/**
 * Whether an OpenAI-style usage reports reasoning APART from its answer total. OpenAI counts
 * reasoning inside `completion_tokens` (and `output_tokens`); xAI's Grok reports it beside
 * them, and says so in its total (prompt + completion + reasoning). A reasoning count larger
 * than the answer total cannot be a part of it either.
 */
export function reasoningApart(
  prompt: number,
  answer: number,
  reasoning: number,
  total: number | undefined,
): boolean {
  return reasoning > 0 && (reasoning > answer || total === prompt + answer + reasoning);
}
