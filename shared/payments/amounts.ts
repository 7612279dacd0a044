/**
 * Money as integers in the currency's minor units, from input to storage: no float ever
 * holds an amount (new-api's float64 `getPayMoney` is what this avoids). A currency's
 * exponent (how many minor units make a major one) comes from ISO 4217 as Stripe uses it.
 */

/** Currencies with no minor unit (Stripe's "zero-decimal" list). */
const ZERO_DECIMAL = new Set([
  "BIF",
  "CLP",
  "DJF",
  "GNF",
  "JPY",
  "KMF",
  "KRW",
  "MGA",
  "PYG",
  "RWF",
  "UGX",
  "VND",
  "VUV",
  "XAF",
  "XOF",
  "XPF",
]);
/** Currencies with three decimals. */
const THREE_DECIMAL = new Set(["BHD", "JOD", "KWD", "OMR", "TND"]);

/** A currency code as sluice stores it: three upper-case letters. */
export const CURRENCY_SHAPE = /^[A-Z]{3}$/;

/** The largest amount sluice takes, in minor units (10^12: far below 2^53, and any real top-up). */
export const MAX_MINOR = 1_000_000_000_000;

/** How many decimals `currency` has (2 unless ISO says otherwise). */
export function exponentOf(currency: string): 0 | 2 | 3 {
  const code = currency.toUpperCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  if (THREE_DECIMAL.has(code)) return 3;
  return 2;
}

/**
 * A decimal string ("5", "19.99") as minor units of `currency`, read digit by digit; undefined
 * for anything else: more decimals than the currency has, signs, exponents, spaces, leading
 * zeros ("05"), or more than MAX_MINOR.
 */
export function parseMinor(text: string, currency: string): number | undefined {
  const exponent = exponentOf(currency);
  const match = /^(0|[1-9][0-9]{0,12})(?:\.([0-9]+))?$/.exec(text);
  if (!match) return undefined;
  const whole = match[1] as string;
  const fraction = match[2] ?? "";
  if (fraction.length > exponent || (match[2] !== undefined && fraction.length === 0))
    return undefined;
  const minor = Number(whole + fraction.padEnd(exponent, "0"));
  return minor <= MAX_MINOR ? minor : undefined;
}

/** Minor units as the decimal string a gateway takes ("5.00" for 500 CNY), never through a float. */
export function formatMinor(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new RangeError(`Not an amount: ${minor}`);
  const exponent = exponentOf(currency);
  if (exponent === 0) return String(minor);
  const digits = String(minor).padStart(exponent + 1, "0");
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/**
 * The quota units an amount buys: `unitsPerMajor` units for each major unit of the currency
 * (the operator's exchange rate), rounded down, exactly (BigInt, so no product is rounded).
 */
export function unitsFor(amountMinor: number, currency: string, unitsPerMajor: number): number {
  const scale = 10n ** BigInt(exponentOf(currency));
  return Number((BigInt(amountMinor) * BigInt(unitsPerMajor)) / scale);
}
