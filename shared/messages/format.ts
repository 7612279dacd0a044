/**
 * What a catalogue entry may use to put numbers into words: Intl for one language, so plurals,
 * grouping, currencies, durations and lists follow that language's rules ("1 second",
 * "2 seconds", "1秒钟"), never string concatenation.
 */

/** The languages sluice speaks; a third is one more catalogue per domain file. */
export type Lang = "en" | "zh";

export const LOCALES: Record<Lang, string> = { en: "en-US", zh: "zh-CN" };

/** $1 = 500,000 quota units (shared/billing/units.ts; repeated so the console needs no server file). */
const UNITS_PER_USD = 500_000;

export interface Fmt {
  readonly lang: Lang;
  /** A number, grouped the language's way ("12,345"). */
  number(n: number): string;
  /** Quota units as US dollars: "$1.25" (en), "US$1.25" (zh); up to 6 decimals, exact. */
  usd(units: number): string;
  /** An amount in a currency's minor units (cents, fen) with its ISO code: 1250, "CNY" → "CN¥12.50". */
  money(minor: number, currency: string): string;
  /**
   * A wait or a window in whole seconds: seconds below two minutes, else minutes rounded up
   * ("1 second", "90 seconds", "3 minutes"; "1秒钟", "3分钟").
   */
  duration(seconds: number): string;
  /** The form for `n` ("#" in it becomes the number): plural(2, {one: "# file", other: "# files"}). */
  plural(n: number, forms: { one?: string; other: string }): string;
  /** "a, b, and c" / "a、b和c". */
  list(items: readonly string[]): string;
  /** "a, b, or c" / "a、b或c". */
  orList(items: readonly string[]): string;
  /** A request field's label in this language, else its name as sent. */
  field(name: string): string;
}

/** A formatter for `lang`; `fieldLabels` names request fields in that language. */
export function formatter(lang: Lang, fieldLabels: Readonly<Record<string, string>> = {}): Fmt {
  const locale = LOCALES[lang];
  const numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 6 });
  const dollars = new Intl.NumberFormat(locale, {
    style: "currency",
    currency: "USD",
    minimumFractionDigits: 2,
    maximumFractionDigits: 6,
  });
  const unit = (name: "second" | "minute") =>
    new Intl.NumberFormat(locale, { style: "unit", unit: name, unitDisplay: "long" });
  const seconds = unit("second");
  const minutes = unit("minute");
  const rules = new Intl.PluralRules(locale);
  const and = new Intl.ListFormat(locale, { type: "conjunction" });
  const or = new Intl.ListFormat(locale, { type: "disjunction" });
  return {
    lang,
    number: (n) => numbers.format(n),
    usd: (units) => dollars.format(units / UNITS_PER_USD),
    money(minor, currency) {
      const digits =
        new Intl.NumberFormat(locale, { style: "currency", currency }).resolvedOptions()
          .maximumFractionDigits ?? 2;
      return new Intl.NumberFormat(locale, { style: "currency", currency }).format(
        minor / 10 ** digits,
      );
    },
    duration: (s) => (s < 120 ? seconds.format(s) : minutes.format(Math.ceil(s / 60))),
    plural(n, forms) {
      const form = rules.select(n) === "one" ? (forms.one ?? forms.other) : forms.other;
      return form.replaceAll("#", numbers.format(n));
    },
    list: (items) => and.format(items),
    orList: (items) => or.format(items),
    field: (name) => fieldLabels[name] ?? name,
  };
}
