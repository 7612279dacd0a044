/** The languages the console speaks: per-language settings (footer, pages) are kept for these. */
export const SITE_LANGUAGES = ["en", "zh"] as const;
export type SiteLanguage = (typeof SITE_LANGUAGES)[number];

/** Text per language; a language left out falls back to the other. */
export type PerLanguage = Partial<Record<SiteLanguage, string>>;

/** The text for `lang`, else any other language's, else null. */
export function inLanguage(texts: PerLanguage, lang: string): string | null {
  const own = texts[lang as SiteLanguage];
  if (own) return own;
  for (const other of SITE_LANGUAGES) if (texts[other]) return texts[other] as string;
  return null;
}
