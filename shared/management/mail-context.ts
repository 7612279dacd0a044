import type { Call } from "../http/route";
import type { GatewayResponse } from "../http/types";
import type { Mail } from "../mail/mailer";
import { type MailLanguage, mailLanguage } from "../mail/templates";
import type { Message } from "../messages/codes";
import { renderEn } from "../messages/render";
import { ok } from "./envelope";

/**
 * What the routes that send mail share (stream e-mail): the site's name and origin for the
 * mail's words and links, the language to write in, and sending after the answer.
 */

/**
 * A success that says something: `message` in English, and its `code` and `params`, so the
 * console words it in its reader's language as it does a refusal.
 */
export function said(message: Message, data: unknown = null): GatewayResponse {
  return ok(data, {
    message: renderEn(message),
    code: message.code,
    ...(Object.keys(message.params).length ? { params: message.params } : {}),
  });
}

/** The site's name in mail (the operator's branding, once stream b-site's section has one). */
export const SITE_NAME = "sluice";

/**
 * The console's origin for links in mail: the configured one (SLUICE_PUBLIC_ORIGIN; the stack
 * sets it from a domain of one's own), else the function URL's own host — never a page's
 * `Origin` header, which a script may set to any site it likes.
 */
export function publicOrigin(call: Call<unknown>): string {
  const { settings } = call.services;
  if (settings.edge.publicOrigin) return settings.edge.publicOrigin;
  const scheme = settings.console.secureCookies ? "https" : "http";
  return `${scheme}://${call.request.headers.host ?? "localhost"}`;
}

/** The language asked for (`lang`), else the browser's first (Accept-Language). */
export function requestLanguage(call: Call<unknown>, lang?: string): MailLanguage {
  return mailLanguage(lang ?? call.request.headers["accept-language"]);
}

/**
 * Sends the mail `compose` makes (none: nothing to send) once the answer has gone: the answer
 * is the same, and as quick, whether a mail goes out or not (issue 22 §2 rule 7). A failure is
 * logged; the caller has been answered already.
 */
export function mailAfterResponse(
  call: Call<unknown>,
  what: string,
  compose: () => Promise<Mail | undefined>,
): void {
  const { services } = call;
  call.context.afterResponse(async () => {
    try {
      const mail = await compose();
      if (mail) await services.mailer.send(mail);
    } catch (err) {
      services.log.error(`sending ${what} mail failed`, err as Error);
    }
  });
}
