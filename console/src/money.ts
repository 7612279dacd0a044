import { locale } from "./i18n";

/** $1 = 500,000 quota units; one unit is $0.000002, so six decimals are exact. */
export const UNITS_PER_USD = 500_000;

function grouped(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Units as dollars, exact: at most 6 decimals, trailing zeros trimmed ("4.343828", "-12.5"). */
export function dollars(units: number): string {
  const whole = Math.round(units);
  const sign = whole < 0 ? "-" : "";
  const abs = Math.abs(whole);
  const micros = String((abs % UNITS_PER_USD) * 2)
    .padStart(6, "0")
    .replace(/0+$/, "");
  return `${sign}${grouped(String(Math.floor(abs / UNITS_PER_USD)))}${micros ? `.${micros}` : ""}`;
}

export function usd(units: number): string {
  const text = dollars(units);
  return text.startsWith("-") ? `-$${text.slice(1)}` : `$${text}`;
}

/**
 * A fraction of a unit as dollars, to the pico-dollar, trailing zeros trimmed: what one kind
 * of a call's usage cost (0.075 units = "$0.00000015"). Units come with at most 6 decimals.
 */
export function preciseUsd(units: number): string {
  const pico = Math.round(units * 1e6) * 2;
  const fraction = String(pico % 1e12)
    .padStart(12, "0")
    .replace(/0+$/, "");
  return `$${grouped(String(Math.floor(pico / 1e12)))}${fraction ? `.${fraction}` : ""}`;
}

/** A dollar amount as a plain number for inputs ("4.343828", no grouping). */
export function dollarsInput(units: number): string {
  return dollars(units).replace(/,/g, "");
}

/** A dollar amount typed by a person, in units; null when it is not one (6 decimals at most). */
export function parseDollars(text: string): number | null {
  const value = text.trim().replace(/^\$/, "");
  if (!/^\d+(\.\d{1,6})?$/.test(value)) return null;
  return Math.round(Number(value) * UNITS_PER_USD);
}

export function num(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : value.toLocaleString(locale());
}
