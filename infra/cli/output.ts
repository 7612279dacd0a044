/** How the CLI prints: aligned tables by default, the API's data as JSON with --json. */

/** A printer of rows: `columns` picks and orders the fields shown; --json shows them all. */
export function printer(json: boolean, line: (text: string) => void) {
  return (data: unknown, columns?: readonly string[]) => {
    if (json || !columns) {
      line(JSON.stringify(data, null, 2));
      return;
    }
    const rows = (Array.isArray(data) ? data : [data]) as Record<string, unknown>[];
    const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
    const row = (values: string[]) =>
      values
        .map((v, i) => v.padEnd(widths[i] as number))
        .join("  ")
        .trimEnd();
    line(row([...columns]));
    for (const r of rows) line(row(columns.map((c) => cell(r[c]))));
  };
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  // One line per row: a value with a newline (a channel's message, a name) stays on its row.
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return text.replace(/\s*\n\s*/g, " ");
}
