/**
 * Quota units: $1 = 500,000 units, so one unit is $0.000002 (both seeds agree:
 * 2171914 units = $4.343828). Balances and charges are whole units.
 */
export const UNITS_PER_USD = 500_000;

/** The dollar value of an amount of units, exact to the unit (6 decimals). */
export function unitsToDollars(units: number): number {
  return Math.round((units / UNITS_PER_USD) * 1e6) / 1e6;
}

/** Dollars to units, for top-ups and limits given in dollars. */
export function dollarsToUnits(dollars: number): number {
  return Math.round(dollars * UNITS_PER_USD);
}
