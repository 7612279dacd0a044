/**
 * Every message sluice can say, by code, with the params each takes. The params of one domain
 * are an interface in its file (domains/<domain>.ts), beside its English and Chinese words; this
 * union is what `msg()` and the catalogues are checked against. README.md: adding a code.
 */
import type * as accounts from "./domains/accounts";
import type * as auth from "./domains/auth";
import type * as billing from "./domains/billing";
import type * as channels from "./domains/channels";
import type * as credit from "./domains/credit";
import type * as fields from "./domains/fields";
import type * as growth from "./domains/growth";
import type * as http from "./domains/http";
import type * as humanCheck from "./domains/human-check";
import type * as identity from "./domains/identity";
import type * as keys from "./domains/keys";
import type * as limits from "./domains/limits";
import type * as logs from "./domains/logs";
// Stream e-mail (issue 22 E).
import type * as mail from "./domains/mail";
import type * as payments from "./domains/payments";
import type * as pricing from "./domains/pricing";
import type * as site from "./domains/site";

export interface MessageParams
  extends accounts.Messages,
    auth.Messages,
    billing.Messages,
    channels.Messages,
    credit.Messages,
    fields.Messages,
    http.Messages,
    humanCheck.Messages,
    keys.Messages,
    limits.Messages,
    growth.Messages,
    identity.Messages,
    logs.Messages,
    mail.Messages,
    payments.Messages,
    pricing.Messages,
    site.Messages {}

export type MessageCode = keyof MessageParams;

/**
 * A message: its code and the values it names. Params hold only strings and numbers
 * (quantities in base units: seconds, units, counts; field names as sent), so they travel
 * as JSON to the console, which words them in its own language.
 */
export interface Message<C extends MessageCode = MessageCode> {
  readonly code: C;
  readonly params: MessageParams[C];
}

/** The params of a code that takes none. */
export type NoParams = Record<string, never>;

/** msg("field_required", {field: "username"}); msg("sign_in_failed") for a code without params. */
export function msg<C extends MessageCode>(
  code: C,
  ...params: MessageParams[C] extends NoParams ? [] : [MessageParams[C]]
): Message<C> {
  return { code, params: (params[0] ?? {}) as MessageParams[C] };
}
