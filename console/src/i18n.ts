/**
 * The console's strings in English and Simplified Chinese, gathered from console/src/strings/;
 * `zh` must have exactly the keys of `en` (a type error otherwise). Placeholders are `{name}`.
 * This module touches no DOM, so tests can import it.
 */

export type Lang = "en" | "zh";

export const LANGS: readonly { lang: Lang; label: string }[] = [
  { lang: "zh", label: "简体中文" },
  { lang: "en", label: "English" },
];

// Each area keeps its strings in its own file, console/src/strings/<area>.ts, exporting `en` and a
// `zh` with the same keys. A new area is one import and one spread in each of the two objects.
import * as common from "./strings/common";
// stream E (growth)
import * as growth from "./strings/growth";
// stream D (sign-in)
import * as identity from "./strings/identity";
// stream a-layout
import * as layout from "./strings/layout";
// stream e-mail
import * as mail from "./strings/mail";
// stream C (payments)
import * as payments from "./strings/payments";
// stream B (site)
import * as site from "./strings/site";
// the admin's settings tabs
import * as siteSettings from "./strings/site-settings";

export const en = {
  ...common.en,
  ...identity.en,
  // stream a-layout
  ...layout.en,
  // stream C (payments)
  ...payments.en,
  // stream E (growth)
  ...growth.en,
  // stream e-mail
  ...mail.en,
  // stream B (site)
  ...site.en,
  ...siteSettings.en,
};

export type Key = keyof typeof en;

export const zh: Record<Key, string> = {
  ...common.zh,
  ...identity.zh,
  // stream a-layout
  ...layout.zh,
  // stream C (payments)
  ...payments.zh,
  // stream E (growth)
  ...growth.zh,
  // stream e-mail
  ...mail.zh,
  // stream B (site)
  ...site.zh,
  ...siteSettings.zh,
};

export const dictionaries: Record<Lang, Record<Key, string>> = { en, zh };

let current: Lang = "en";
const listeners = new Set<(lang: Lang, chosen: boolean) => void>();

/** The language to start in: the one chosen before, else the browser's (zh* → zh), else en. */
export function pickLang(stored: string | null, languages: readonly string[]): Lang {
  if (stored === "en" || stored === "zh") return stored;
  for (const language of languages) {
    const tag = language.toLowerCase();
    if (tag.startsWith("zh")) return "zh";
    if (tag.startsWith("en")) return "en";
  }
  return "en";
}

export function getLang(): Lang {
  return current;
}

/** Switches the language; `chosen` is false for the starting guess (not remembered). */
export function setLang(lang: Lang, chosen = true): void {
  current = lang;
  for (const listener of listeners) listener(lang, chosen);
}

/** Follows language changes; returns what stops following. */
export function onLangChange(listener: (lang: Lang, chosen: boolean) => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** The BCP 47 locale for numbers and dates. */
export function locale(): string {
  return current === "zh" ? "zh-CN" : "en-US";
}

/** The string for `key` in the current language, `{name}` placeholders filled in. */
export function t(key: Key, params?: Record<string, string | number>): string {
  const text = (dictionaries[current] as Partial<Record<string, string>>)[key];
  if (text === undefined) return `⟦${key}⟧`;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (match, name: string) =>
    name in params ? String(params[name]) : match,
  );
}
