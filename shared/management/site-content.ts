import { newId } from "../auth/secrets";
import { Conflict } from "../errors";
import { readJsonObject } from "../http/body";
import { type Call, publicRoute, userRoute } from "../http/route";
import { msg } from "../messages/codes";
import { SITE_LANGUAGES, type SiteLanguage } from "../site/languages";
import type { Announcement, SiteContent, SiteContentChanges } from "../store/site-content";
import { ConditionFailed } from "../store/table";
import { field, invalid, ok, requireAdmin } from "./envelope";

/** A home or about page's Markdown, at most. */
const MAX_PAGE = 32 * 1024;
const MAX_ANNOUNCEMENTS = 10;
const MAX_ANNOUNCEMENT_BODY = 4 * 1024;

/** GET /api/site/content?lang= (admin): one language's pages and announcements, as stored. */
export const getContent = userRoute("GET", "/api/site/content", async (call) => {
  requireAdmin(call);
  const lang = languageOf(call, true);
  return ok(contentView(lang, await call.services.siteContent.read(lang)));
});

/**
 * PUT /api/site/content?lang= (admin): `home`, `about` (Markdown, "" or null removes a page)
 * and `announcements` (the whole list), each only when sent; `version` as for the options.
 */
export const putContent = userRoute("PUT", "/api/site/content", async (call) => {
  requireAdmin(call);
  const lang = languageOf(call, true);
  const body = readJsonObject(call.request);
  const changes: SiteContentChanges = {
    home: page(body, "home"),
    about: page(body, "about"),
    announcements: announcements(body),
  };
  try {
    const saved = await call.services.siteContent.update(lang, changes, {
      expectedVersion: field.integer(body, "version", { min: 0 }),
    });
    return ok(contentView(lang, saved));
  } catch (err) {
    if (err instanceof ConditionFailed) throw new Conflict(msg("site_options_changed"));
    throw err;
  }
});

/** GET /api/home_page_content?lang= (one-api's route): the home page's Markdown, or "". */
export const getHomePage = publicRoute("GET", "/api/home_page_content", "one-api", async (call) =>
  ok(await pageIn(call, "home")),
);

/** GET /api/about?lang= (one-api's route): the about page's Markdown, or "". */
export const getAbout = publicRoute("GET", "/api/about", "one-api", async (call) =>
  ok(await pageIn(call, "about")),
);

/**
 * GET /api/notice?lang= (one-api's route, answered as a list): the announcements to show now,
 * those of the language asked for (else the other's).
 */
export const getNotice = publicRoute("GET", "/api/notice", "one-api", async (call) => {
  const now = call.services.clock.seconds();
  for (const lang of preferred(languageOf(call, false))) {
    const { announcements } = await call.services.siteContent.get(lang);
    if (announcements.length)
      return ok(
        announcements.filter(
          (a) =>
            (a.from === undefined || a.from <= now) && (a.until === undefined || now < a.until),
        ),
      );
  }
  return ok([]);
});

/** A page in the language asked for, else in the other (a site may write one language only). */
async function pageIn(call: Call<unknown>, name: "home" | "about"): Promise<string> {
  for (const lang of preferred(languageOf(call, false))) {
    const text = (await call.services.siteContent.get(lang))[name];
    if (text) return text;
  }
  return "";
}

function preferred(lang: SiteLanguage): SiteLanguage[] {
  return [lang, ...SITE_LANGUAGES.filter((other) => other !== lang)];
}

/** `?lang=`: required of an admin, else en when absent or not a language the site has. */
function languageOf(call: Call<unknown>, strict: boolean): SiteLanguage {
  const lang = call.request.query.get("lang");
  if ((SITE_LANGUAGES as readonly string[]).includes(lang ?? "")) return lang as SiteLanguage;
  if (strict)
    throw invalid(msg("field_not_one_of", { field: "lang", allowed: SITE_LANGUAGES.join(", ") }));
  return "en";
}

function contentView(lang: string, content: SiteContent) {
  return {
    lang,
    home: content.home ?? "",
    about: content.about ?? "",
    announcements: content.announcements,
    version: content.version,
  };
}

function page(body: Record<string, unknown>, name: string): string | null | undefined {
  if (body[name] === null) return null;
  const text = field.string(body, name, { max: MAX_PAGE });
  if (text === undefined) return undefined;
  return text.trim() === "" ? null : text;
}

function announcements(body: Record<string, unknown>): Announcement[] | undefined {
  const value = body.announcements;
  if (value === undefined) return undefined;
  if (value === null) return [];
  const refused = () => invalid(msg("site_announcements_invalid", { max: MAX_ANNOUNCEMENTS }));
  if (!Array.isArray(value) || value.length > MAX_ANNOUNCEMENTS) throw refused();
  return value.map((item): Announcement => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) throw refused();
    const entry = item as Record<string, unknown>;
    const title = field.string(entry, "title", { max: 200 })?.trim() ?? "";
    const text = field.string(entry, "body", { max: MAX_ANNOUNCEMENT_BODY }) ?? "";
    if (!title && !text.trim()) throw refused();
    const from = field.integer(entry, "from", { min: 0 });
    const until = field.integer(entry, "until", { min: 0 });
    const id = field.string(entry, "id", { max: 40 });
    return {
      id: id && /^[A-Za-z0-9_-]+$/.test(id) ? id : newId("ann_", 8),
      title,
      body: text,
      ...(from !== undefined ? { from } : {}),
      ...(until !== undefined ? { until } : {}),
      level: field.oneOf(entry, "level", ["info", "warning"] as const) ?? "info",
    };
  });
}
