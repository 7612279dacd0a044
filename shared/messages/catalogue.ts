/**
 * The catalogues: every code's words in each language, gathered from domains/*.ts. Each is
 * complete by type, so a code without its English or Chinese words does not compile.
 */
import type { MessageCode, MessageParams } from "./codes";
import * as accounts from "./domains/accounts";
import * as auth from "./domains/auth";
import * as billing from "./domains/billing";
import * as channels from "./domains/channels";
import * as credit from "./domains/credit";
import * as fields from "./domains/fields";
import * as growth from "./domains/growth";
import * as http from "./domains/http";
import * as humanCheck from "./domains/human-check";
import * as identity from "./domains/identity";
import * as keys from "./domains/keys";
import * as limits from "./domains/limits";
import * as logs from "./domains/logs";
import * as mail from "./domains/mail";
import * as payments from "./domains/payments";
import * as pricing from "./domains/pricing";
import * as site from "./domains/site";
import type { Fmt, Lang } from "./format";

/** One language's words for every code: a function of the code's params and a formatter. */
export type Catalogue = { [C in MessageCode]: (params: MessageParams[C], f: Fmt) => string };

/** The words for one domain's codes (`M`: the domain's params interface). */
export type Entries<M> = { [C in keyof M]: (params: M[C], f: Fmt) => string };

/** An example of each code's params, for the test that renders every code in every language. */
export type Samples<M> = { [C in keyof M]: M[C] };

export const catalogues: Record<Lang, Catalogue> = {
  en: {
    ...accounts.en,
    ...auth.en,
    ...billing.en,
    ...channels.en,
    ...credit.en,
    ...fields.en,
    ...growth.en,
    ...http.en,
    ...humanCheck.en,
    ...identity.en,
    ...keys.en,
    ...limits.en,
    ...logs.en,
    ...mail.en,
    ...payments.en,
    ...pricing.en,
    ...site.en,
  },
  zh: {
    ...accounts.zh,
    ...auth.zh,
    ...billing.zh,
    ...channels.zh,
    ...credit.zh,
    ...fields.zh,
    ...growth.zh,
    ...http.zh,
    ...humanCheck.zh,
    ...identity.zh,
    ...keys.zh,
    ...limits.zh,
    ...logs.zh,
    ...mail.zh,
    ...payments.zh,
    ...pricing.zh,
    ...site.zh,
  },
};

/** Request fields' names in each language (English says a field by the name it is sent as). */
export const fieldLabels: Record<Lang, Readonly<Record<string, string>>> = {
  en: {},
  zh: fields.labels,
};

export const samples: Samples<MessageParams> = {
  ...accounts.samples,
  ...auth.samples,
  ...billing.samples,
  ...channels.samples,
  ...credit.samples,
  ...fields.samples,
  ...http.samples,
  ...humanCheck.samples,
  ...keys.samples,
  ...limits.samples,
  ...logs.samples,
  ...payments.samples,
  ...growth.samples,
  ...identity.samples,
  ...pricing.samples,
  ...site.samples,
  ...mail.samples,
};
