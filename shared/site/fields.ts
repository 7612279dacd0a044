import { field, invalid } from "../management/envelope";
import { msg } from "../messages/codes";
import { type PerLanguage, SITE_LANGUAGES } from "./languages";
import type { SiteField } from "./section";

/**
 * Readers for the fields of a section (shared/site/section.ts), on the management API's field
 * readers: a bad value is a 400 naming the field. `attribute` keeps a field stored before
 * sections where it was.
 */
export const siteField = {
  oneOf<T extends string>(allowed: readonly T[], attribute?: string): SiteField<T> {
    return { attribute, read: (body, name) => field.oneOf(body, name, allowed) };
  },
  integer(options: { min?: number; max?: number }, attribute?: string): SiteField<number> {
    return { attribute, read: (body, name) => field.integer(body, name, options) };
  },
  boolean(attribute?: string): SiteField<boolean> {
    return { attribute, read: (body, name) => field.boolean(body, name) };
  },
  /** Text, trimmed; empty (or null) goes back to the default. */
  text(options: { max: number }, attribute?: string): SiteField<string> {
    return {
      attribute,
      read(body, name) {
        if (body[name] === null) return null;
        const value = field.string(body, name, { max: options.max });
        if (value === undefined) return undefined;
        return value.trim() === "" ? null : value.trim();
      },
    };
  },
  /**
   * Text per language, `{"en": "…", "zh": "…"}`, replaced whole (send every language you
   * keep; an empty one is dropped); null clears all.
   */
  perLanguage(options: { max: number }, attribute?: string): SiteField<PerLanguage> {
    return {
      attribute,
      read(body, name) {
        const value = body[name];
        if (value === undefined) return undefined;
        if (value === null) return null;
        if (typeof value !== "object" || Array.isArray(value))
          throw invalid(
            msg("site_per_language_invalid", { field: name, languages: SITE_LANGUAGES.join(", ") }),
          );
        const texts: PerLanguage = {};
        for (const [lang, text] of Object.entries(value)) {
          if (!(SITE_LANGUAGES as readonly string[]).includes(lang))
            throw invalid(
              msg("site_language_unknown", {
                field: name,
                lang: lang.slice(0, 20),
                languages: SITE_LANGUAGES.join(", "),
              }),
            );
          if (typeof text !== "string")
            throw invalid(msg("field_not_string", { field: `${name}.${lang}` }));
          if (text.length > options.max)
            throw invalid(msg("field_too_long", { field: `${name}.${lang}`, max: options.max }));
          if (text.trim()) texts[lang as keyof PerLanguage] = text;
        }
        return texts;
      },
    };
  },
};
