import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../../console/src/api";
import { setLang } from "../../console/src/i18n";
import { translate } from "../../console/src/messages/translate";
import { catalogues, samples } from "../../shared/messages/catalogue";
import { type Message, type MessageCode, msg } from "../../shared/messages/codes";
import { formatter, type Lang } from "../../shared/messages/format";
import { render, renderEn } from "../../shared/messages/render";

const codes = Object.keys(catalogues.en) as MessageCode[];
const LANGS = Object.keys(catalogues) as Lang[];
const sample = (code: MessageCode) => ({ code, params: samples[code] }) as Message;

/** Params that count or wait: rendered at 1 and at 2, English must differ (plural forms). */
const COUNTED = /(seconds|count|max|min|max_files)$/;

describe("message catalogues", () => {
  it("have the same codes in every language, each with a sample", () => {
    for (const lang of LANGS) expect(Object.keys(catalogues[lang]).sort()).toEqual(codes.sort());
    expect(Object.keys(samples).sort()).toEqual(codes.sort());
    expect(codes.length).toBeGreaterThan(20);
  });

  it("define each code in one domain only (a second definition would silently win)", async () => {
    const dir = new URL("../../shared/messages/domains/", import.meta.url);
    const owners = new Map<string, string[]>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
      const domain = (await import(new URL(file, dir).href)) as { en?: object };
      for (const code of Object.keys(domain.en ?? {}))
        owners.set(code, [...(owners.get(code) ?? []), file]);
    }
    expect([...owners].filter(([, files]) => files.length > 1)).toEqual([]);
    expect(owners.size).toBe(Object.keys(catalogues.en).length);
  });

  it("word every code in every language, with no hole", () => {
    for (const code of codes) {
      for (const lang of LANGS) {
        const text = render(lang, sample(code));
        expect(text.trim(), `${lang} ${code}`).not.toBe("");
        expect(text, `${lang} ${code}`).not.toMatch(/undefined|NaN|\[object /);
        if (lang === "zh") expect(text, code).toMatch(/[\u4e00-\u9fff]/);
      }
    }
  });

  it("say counts and waits of 1 and 2 differently in English", () => {
    let checked = 0;
    for (const code of codes) {
      const params = samples[code] as Record<string, unknown>;
      for (const [name, value] of Object.entries(params)) {
        if (typeof value !== "number" || !COUNTED.test(name)) continue;
        const at = (n: number) => renderEn({ code, params: { ...params, [name]: n } } as Message);
        expect(at(1), `${code}.${name}`).not.toBe(at(2));
        expect(at(1), `${code}.${name}`).not.toMatch(/\b1 (seconds|minutes|characters|files)\b/);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
    expect(renderEn(msg("too_many_sign_ins", { retry_after_seconds: 1 }))).toMatch(
      /Try again in 1 second\.$/,
    );
    expect(renderEn(msg("too_many_sign_ins", { retry_after_seconds: 2 }))).toMatch(
      /Try again in 2 seconds\.$/,
    );
  });

  it("formats through Intl: durations, money, plurals, lists", () => {
    const en = formatter("en");
    const zh = formatter("zh", { username: "用户名" });
    expect([en.duration(1), en.duration(119), en.duration(120), en.duration(3600)]).toEqual([
      "1 second",
      "119 seconds",
      "2 minutes",
      "60 minutes",
    ]);
    expect(zh.duration(1)).toBe("1秒钟");
    expect(en.usd(625_000)).toBe("$1.25");
    expect(en.usd(1)).toBe("$0.000002");
    expect(zh.usd(625_000)).toBe("US$1.25");
    expect(en.money(1250, "CNY")).toBe("CN¥12.50");
    expect(en.money(1250, "JPY")).toBe("¥1,250");
    expect(en.plural(1, { one: "# file", other: "# files" })).toBe("1 file");
    expect(en.plural(1234, { one: "# file", other: "# files" })).toBe("1,234 files");
    expect(en.list(["a", "b", "c"])).toBe("a, b, and c");
    expect(zh.orList(["a", "b"])).toBe("a或b");
    expect([zh.field("username"), zh.field("unknown_field")]).toEqual(["用户名", "unknown_field"]);
  });

  it("builds a message from a code and its params", () => {
    expect(msg("field_required", { field: "name" })).toEqual({
      code: "field_required",
      params: { field: "name" },
    });
    expect(msg("csrf_token_invalid")).toEqual({ code: "csrf_token_invalid", params: {} });
  });
});

describe("the console's wording of a refusal", () => {
  afterEach(() => setLang("en", false));

  it("words a known code in the reader's language, and keeps the server's words otherwise", () => {
    const refused = new ApiError(400, "name must be at most 64 characters.", "field_too_long", {
      field: "name",
      max: 64,
    });
    expect(translate(refused)).toBe("name must be at most 64 characters.");
    setLang("zh", false);
    expect(translate(refused)).toBe(
      render("zh", msg("field_too_long", { field: "name", max: 64 })),
    );
    expect(translate(refused)).toMatch(/名称最多 64 个字符/);
    // A code from a newer server, and params the catalogue cannot word: the server's English.
    expect(translate(new ApiError(400, "Something new.", "a_code_from_the_future"))).toBe(
      "Something new.",
    );
    expect(translate(new ApiError(429, "Wait.", "too_many_sign_ins", {}))).toBe("Wait.");
    expect(translate(new ApiError(500, "Plain."))).toBe("Plain.");
  });
});
