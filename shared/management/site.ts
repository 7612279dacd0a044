import { Conflict, NotFound } from "../errors";
import { readJsonObject } from "../http/body";
import { publicRoute, type Route, userRoute } from "../http/route";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import { sniffLogo } from "../site/logo";
import type { Site } from "../site/registry";
import { type AnySection, apiName, type SiteView } from "../site/section";
import { branding } from "../site/sections/branding";
import { registration } from "../site/sections/registration";
import { trial } from "../site/sections/trial";
import { TURNSTILE_SECRET_MAX, turnstile } from "../site/sections/turnstile";
import { ConditionFailed } from "../store/table";
import { field, invalid, ok, requireAdmin } from "./envelope";

const VERSION = "1";
/** What a logo upload may say it is (its bytes decide what it is). */
const LOGO_BODY_TYPES = ["image/png", "image/jpeg", "image/webp", "application/octet-stream"];
/** The languages the console speaks; a public view is asked for one of them. */
const LANGUAGES = ["en", "zh"];

/**
 * GET /api/status: what the console needs before anyone signs in: every section's public
 * view (shared/site/section.ts), in the language asked for by `?lang=` (default en).
 */
export const getStatus = publicRoute("GET", "/api/status", "one-api", async (call) => {
  const site = await call.services.siteOptions.get();
  const asked = call.request.query.get("lang") ?? "en";
  const lang = LANGUAGES.includes(asked) ? asked : "en";
  return ok({ version: VERSION, ...publicViews(call.services, site, lang) });
});

/** Every section's public view, merged (site-sections.test.ts holds their keys apart). */
export function publicViews(services: Services, site: Site, lang: string) {
  const views: Record<string, unknown> = {};
  for (const section of services.siteOptions.sections as readonly AnySection[])
    Object.assign(views, section.publicView?.(site.of(section), site, { lang }));
  return views;
}

/**
 * GET /api/site/sections (admin): every section's admin view and the options' version, read
 * consistently.
 */
export const listSections = userRoute("GET", "/api/site/sections", async (call) => {
  requireAdmin(call);
  const site = await call.services.siteOptions.read();
  const sections: Record<string, unknown> = {};
  for (const section of call.services.siteOptions.sections)
    sections[section.name] = adminView(section, site);
  return ok({ version: site.version, sections });
});

/** GET /api/site/sections/<name> (admin): one section's admin view. */
export const getSection = userRoute("GET", "/api/site/sections/:name", async (call) => {
  requireAdmin(call);
  const section = sectionNamed(call.services, call.params.name);
  return ok(sectionAnswer(section, await call.services.siteOptions.read()));
});

/**
 * PUT /api/site/sections/<name> (admin): sets the fields sent (by their API names; `null` or
 * "" resets one to its default; a secret sent as "" is removed) and leaves the others as they
 * are. A field the section does not have is refused. `version`, when given, must be the
 * stored one (409 otherwise).
 */
export const putSection = userRoute("PUT", "/api/site/sections/:name", async (call) => {
  requireAdmin(call);
  const { services } = call;
  const section = sectionNamed(services, call.params.name);
  const body = readJsonObject(call.request);
  const names = new Map<string, string>();
  for (const key of Object.keys(section.fields)) names.set(apiName(key), key);
  for (const key of Object.keys(section.secrets ?? {})) names.set(apiName(key), key);
  const unknown = Object.keys(body).filter((key) => key !== "version" && !names.has(key));
  if (unknown.length)
    throw invalid(
      msg("site_fields_unknown", {
        section: section.name,
        fields: unknown.join(", ").slice(0, 200),
        known: [...names.keys()].join(", "),
      }),
    );
  const changes: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(section.fields))
    changes[key] = spec.read(body, apiName(key));
  for (const [key, secret] of Object.entries(section.secrets ?? {}))
    changes[key] = readSecret(body, apiName(key), secret.max);
  const saved = await saveOptions(services, { [section.name]: changes }, body);
  return ok(sectionAnswer(section, saved));
});

/**
 * PUT /api/site/logo (admin): the raw bytes of a PNG, JPEG or WebP (≤ 100 KB), its type taken
 * from its first bytes (SVG refused). It becomes the logo in the top bar and the favicon.
 */
export const putLogo: Route = {
  ...userRoute("PUT", "/api/site/logo", async (call) => {
    requireAdmin(call);
    const { services } = call;
    const type = sniffLogo(call.request.body);
    // The bytes first: the version named in the branding always has its bytes stored.
    const version = await services.siteLogo.put(call.request.body, type);
    const saved = await saveOptions(services, { branding: { logoVersion: version } }, {});
    return ok(sectionAnswer(branding, saved));
  }),
  // Not a type a page of another site can send without asking (CORS): no cross-site upload.
  bodyTypes: LOGO_BODY_TYPES,
};

/** DELETE /api/site/logo (admin): back to no logo. */
export const deleteLogo = userRoute("DELETE", "/api/site/logo", async (call) => {
  requireAdmin(call);
  const { services } = call;
  const saved = await saveOptions(services, { branding: { logoVersion: null } }, {});
  await services.siteLogo.delete();
  return ok(sectionAnswer(branding, saved));
});

/**
 * GET /api/site/logo?v=<version>: the logo, kept by browsers for a year when `v` names the
 * current one (a new logo has a new URL). Served as the sniffed image type, never sniffed
 * again by the browser, and sandboxed should anyone open it directly.
 */
export const getLogo = publicRoute("GET", "/api/site/logo", "one-api", async (call) => {
  const logo = await call.services.siteLogo.get();
  if (!logo) throw new NotFound(msg("site_logo_missing"));
  const current = call.request.query.get("v") === logo.version;
  return {
    status: 200,
    headers: {
      "content-type": logo.type,
      "cache-control": current ? "public, max-age=31536000, immutable" : "no-cache",
      etag: `"${logo.version}"`,
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
      "cross-origin-resource-policy": "same-origin",
    },
    body: logo.bytes,
  };
});

/** GET /api/option (admin): the options of before sections, in their shape, read afresh. */
export const getOptions = userRoute("GET", "/api/option", async (call) => {
  requireAdmin(call);
  return ok(optionsView(call.services, await call.services.siteOptions.read()));
});

/**
 * PUT /api/option (admin): the same fields, each set in its section; the fields not sent are
 * left as they are. `version`, when given, must be the stored one (409 otherwise).
 */
export const putOptions = userRoute("PUT", "/api/option", async (call) => {
  requireAdmin(call);
  const { services } = call;
  const body = readJsonObject(call.request);
  const changes = {
    registration: { mode: registration.fields.mode.read(body, "registration") },
    trial: {
      newUserQuota: trial.fields.newUserQuota.read(body, "new_user_quota"),
      verification: trial.fields.verification.read(body, "trial_verification"),
    },
    turnstile: {
      siteKey: turnstile.fields.siteKey.read(body, "turnstile_site_key"),
      secret: readSecret(body, "turnstile_secret", TURNSTILE_SECRET_MAX),
    },
  };
  return ok(optionsView(services, await saveOptions(services, changes, body)));
});

async function saveOptions(
  services: Services,
  changes: Record<string, Record<string, unknown>>,
  body: Record<string, unknown>,
): Promise<Site> {
  try {
    return await services.siteOptions.update(changes, {
      expectedVersion: field.integer(body, "version", { min: 0 }),
    });
  } catch (err) {
    if (err instanceof ConditionFailed) throw new Conflict(msg("site_options_changed"));
    throw err;
  }
}

/** A secret as sent: a string up to `max`; "" or null removes it. */
function readSecret(body: Record<string, unknown>, name: string, max: number) {
  if (body[name] === null) return null;
  const value = field.string(body, name, { max });
  if (value === undefined) return undefined;
  return value.trim() === "" ? null : value.trim();
}

function sectionNamed(services: Services, name: string | undefined): AnySection {
  const section = name === undefined ? undefined : services.siteOptions.section(name);
  if (!section)
    throw new NotFound(msg("site_section_unknown", { section: String(name).slice(0, 60) }));
  return section;
}

function sectionAnswer(section: AnySection, site: Site) {
  return { name: section.name, version: site.version, fields: adminView(section, site) };
}

/**
 * What an admin sees of a section: its own admin view, else every field by its API name and,
 * of each secret, only whether it is saved.
 */
export function adminView(section: AnySection, site: SiteView): Record<string, unknown> {
  const values = site.of(section);
  if (section.adminView) return section.adminView(values, site);
  const view: Record<string, unknown> = {};
  for (const key of Object.keys(section.fields)) view[apiName(key)] = values[key] ?? null;
  for (const key of Object.keys(section.secrets ?? {}))
    view[`${apiName(key)}_set`] = site.secretSet(section, key);
  return view;
}

/** The options as an admin saw them before sections: the Turnstile secret only as whether set. */
function optionsView(services: Services, site: Site) {
  return {
    registration: site.of(registration).mode,
    new_user_quota: site.of(trial).newUserQuota,
    trial_verification: site.of(trial).verification,
    turnstile_site_key: site.of(turnstile).siteKey ?? null,
    turnstile_secret_set:
      site.secretSet(turnstile, "secret") ||
      services.settings.console.turnstileSecret !== undefined,
    version: site.version,
  };
}
