/**
 * The catalogues: every code's words in each language, gathered from domains/*.ts. Each is
 * complete by type, so a code without its English or Chinese words does not compile.
 */
import type { MessageCode, MessageParams } from "./codes";
import * as fields from "./domains/fields";
import * as http from "./domains/http";
import * as limits from "./domains/limits";
import * as mail from "./domains/mail";
import * as payments from "./domains/payments";
import * as site from "./domains/site";
import type { Fmt, Lang } from "./format";

/** One language's words for every code: a function of the code's params and a formatter. */
export type Catalogue = { [C in MessageCode]: (params: MessageParams[C], f: Fmt) => string };

/** The words for one domain's codes (`M`: the domain's params interface). */
export type Entries<M> = { [C in keyof M]: (params: M[C], f: Fmt) => string };

/** An example of each code's params, for the test that renders every code in every language. */
export type Samples<M> = { [C in keyof M]: M[C] };

export const catalogues: Record<Lang, Catalogue> = {
  en: { ...fields.en, ...http.en, ...limits.en, ...site.en, ...payments.en, ...mail.en },
  zh: { ...fields.zh, ...http.zh, ...limits.zh, ...site.zh, ...payments.zh, ...mail.zh },
};

/** Request fields' names in each language (English says a field by the name it is sent as). */
export const fieldLabels: Record<Lang, Readonly<Record<string, string>>> = {
  en: {},
  zh: fields.labels,
};

export const samples: Samples<MessageParams> = {
  ...fields.samples,
  ...http.samples,
  ...limits.samples,
  ...site.samples,
  ...payments.samples,
  ...mail.samples,
};
