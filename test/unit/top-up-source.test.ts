import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { topUpSource } from "../../shared/billing/top-up-source";

/** Every `reference: \`<prefix>:…\`` a top-up is made with in shared/, and the file making it. */
function referencePrefixes(): [string, string][] {
  const root = join(import.meta.dirname, "../../shared");
  const found: [string, string][] = [];
  for (const file of readdirSync(root, { recursive: true }) as string[]) {
    if (!file.endsWith(".ts")) continue;
    const text = readFileSync(join(root, file), "utf8");
    for (const match of text.matchAll(/reference: `([a-z-]+:)/g))
      found.push([match[1] as string, file]);
  }
  return found;
}

describe("a top-up's source, as customers see it", () => {
  it("names every kind of top-up sluice makes itself, never as an admin's", () => {
    const prefixes = referencePrefixes();
    // The scan finds them (trial, redemption, order, check-in, invitation and its welcome).
    expect(prefixes.length).toBeGreaterThanOrEqual(6);
    for (const [prefix, file] of prefixes)
      expect(topUpSource(`${prefix}x`).kind, `${prefix} (${file})`).not.toBe("admin");
  });

  it("takes anything else for an admin's top-up, and shows only an order's number", () => {
    expect(topUpSource("req_123")).toEqual({ kind: "admin" });
    expect(topUpSource(undefined)).toEqual({ kind: "admin" });
    expect(topUpSource("redeem:code_secret")).toEqual({ kind: "redemption" });
    expect(topUpSource("order:ord_0123456789abcdef").kind).toBe("order");
  });
});
