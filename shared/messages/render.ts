import { type Catalogue, catalogues, fieldLabels } from "./catalogue";
import type { Message, MessageCode } from "./codes";
import { type Fmt, formatter, type Lang } from "./format";

const formatters: Partial<Record<Lang, Fmt>> = {};

/** The formatter for a language (made once: Intl's formatters are not free). */
export function fmtFor(lang: Lang): Fmt {
  formatters[lang] ??= formatter(lang, fieldLabels[lang]);
  return formatters[lang];
}

/** Whether `code` is one this catalogue has words for (a newer server may send others). */
export function isMessageCode(code: unknown): code is MessageCode {
  return typeof code === "string" && Object.hasOwn(catalogues.en, code);
}

/** A message in `lang`. */
export function render(lang: Lang, message: Message): string {
  const entry = catalogues[lang][message.code] as (p: unknown, f: Fmt) => string;
  return entry(message.params, fmtFor(lang));
}

/**
 * What another program sent (the console's or the CLI's reading of an /api refusal) in `lang`:
 * its code and params worded by the catalogue, else `fallback` (the sender's own English) when
 * the code is unknown (a newer server) or the params do not fit the entry.
 */
export function renderOr(
  lang: Lang,
  said: { code?: unknown; params?: unknown },
  fallback: string,
): string {
  if (!isMessageCode(said.code)) return fallback;
  try {
    const text = render(lang, { code: said.code, params: said.params ?? {} } as Message);
    return /undefined|NaN|\[object /.test(text) ? fallback : text;
  } catch {
    return fallback;
  }
}

/** A message in English: what logs, /v1 and the one-api envelope's `message` say. */
export function renderEn(message: Message): string {
  return render("en", message);
}

export type { Catalogue };
