import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { en, type Key, pickLang, setLang, t, zh } from "../../console/src/i18n";

const SOURCES = fileURLToPath(new URL("../../console/src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("console strings", () => {
  afterEach(() => setLang("en", false));

  it("has exactly the same keys in English and Chinese", () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
  });

  it("has no empty string", () => {
    for (const [lang, dictionary] of Object.entries({ en, zh })) {
      for (const [key, text] of Object.entries(dictionary)) {
        expect(text.trim(), `${lang}.${key}`).not.toBe("");
      }
    }
  });

  it("uses the same placeholders in both languages", () => {
    for (const key of Object.keys(en) as Key[]) {
      expect(placeholders(zh[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it("has every string in Chinese (each has Chinese characters)", () => {
    // Names that are the same in Chinese (a brand is not translated).
    const names = new Set(["provider_stripe"]);
    for (const [key, text] of Object.entries(zh)) {
      if (names.has(key)) continue;
      expect(text, key).toMatch(/[\u4e00-\u9fff]/);
    }
  });

  it("defines every key the console's sources look up", () => {
    const files = sourceFiles(SOURCES);
    expect(files.length).toBeGreaterThan(10);
    const missing: string[] = [];
    let calls = 0;
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      // t("key") and t("key", {...}); keys named in maps are checked by the type checker.
      for (const match of text.matchAll(/\bt\(\s*"([^"]+)"/g)) {
        calls++;
        if (!((match[1] ?? "") in en)) missing.push(`${relative(SOURCES, file)}: ${match[1]}`);
      }
      // A string key must be a literal: a computed one would escape this check.
      expect(text, relative(SOURCES, file)).not.toMatch(/\bt\(\s*`/);
    }
    expect(calls).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });

  it("fills placeholders, and shows a missing key as ⟦key⟧", () => {
    setLang("zh", false);
    expect(t("page_of", { page: 2, pages: 5 })).toBe("第 2 / 5 页");
    expect(t("no_such_key" as Key)).toBe("⟦no_such_key⟧");
    setLang("en", false);
    expect(t("keys_of_user", { name: "alice" })).toBe("API keys of alice");
  });

  it("starts in the language chosen before, else the browser's (zh* is Chinese), else English", () => {
    expect(pickLang("en", ["zh-CN"])).toBe("en");
    expect(pickLang("zh", ["en-US"])).toBe("zh");
    expect(pickLang(null, ["zh-TW", "en"])).toBe("zh");
    expect(pickLang(null, ["fr-FR", "zh-CN"])).toBe("zh");
    expect(pickLang(null, ["en-GB", "zh-CN"])).toBe("en");
    expect(pickLang("xx", ["de"])).toBe("en");
    expect(pickLang(null, [])).toBe("en");
  });
});
