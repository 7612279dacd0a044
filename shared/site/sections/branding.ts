import { invalid } from "../../management/envelope";
import { msg } from "../../messages/codes";
import { contrastWithWhite, MIN_CONTRAST } from "../contrast";
import { siteField } from "../fields";
import { inLanguage, type PerLanguage } from "../languages";
import { defineSection } from "../section";

/** The site's name when the operator has given none. */
export const DEFAULT_SITE_NAME = "sluice";
const MAX_FOOTER = 2048;
const MAX_IMAGE_ORIGINS = 10;

interface Branding {
  /** Shown in the top bar and `<title>` (HTML-escaped where it is written). */
  name: string;
  /** `#rrggbb`, the background of white text: refused below 4.5:1 contrast. */
  color?: string;
  /** The logo's content hash, set by uploading one (PUT /api/site/logo), not by this section. */
  logoVersion?: string;
  /** Markdown under every page, per language. */
  footer: PerLanguage;
  /** https origins Markdown may show images from (added to the console's CSP img-src). */
  imageOrigins: string[];
}

/** The operator's brand: name, colour, logo, footer, and where Markdown images may come from. */
export const branding = defineSection({
  name: "branding",
  fields: {
    name: siteField.text({ max: 40 }),
    color: {
      read(body, name) {
        const value = siteField.text({ max: 7 }).read(body, name);
        if (value === null || value === undefined) return value;
        if (!/^#[0-9a-fA-F]{6}$/.test(value))
          throw invalid(msg("site_color_format", { field: name }));
        const ratio = contrastWithWhite(value);
        if (ratio < MIN_CONTRAST)
          throw invalid(
            msg("site_color_contrast", {
              field: name,
              color: value,
              ratio: ratio.toFixed(2),
              min: MIN_CONTRAST,
            }),
          );
        return value.toLowerCase();
      },
    },
    logoVersion: {
      read(body, name) {
        if (body[name] !== undefined)
          throw invalid(msg("site_logo_version_readonly", { field: name }));
        return undefined;
      },
    },
    footer: siteField.perLanguage({ max: MAX_FOOTER }),
    imageOrigins: {
      read(body, name) {
        const value = body[name];
        if (value === undefined) return undefined;
        if (value === null) return null;
        if (!Array.isArray(value) || value.length > MAX_IMAGE_ORIGINS)
          throw invalid(msg("site_image_origins_invalid", { field: name, max: MAX_IMAGE_ORIGINS }));
        return value.map((origin) => httpsOrigin(name, origin));
      },
    },
  },
  defaults: (): Branding => ({ name: DEFAULT_SITE_NAME, footer: {}, imageOrigins: [] }),
  publicView: (values, _site, { lang }) => ({
    system_name: values.name,
    logo: values.logoVersion ? logoUrl(values.logoVersion) : null,
    theme_color: values.color ?? null,
    footer: inLanguage(values.footer, lang),
    // Already public in the page's CSP; the console's Markdown shows images from these only.
    image_origins: values.imageOrigins ?? [],
  }),
});

/** Where the logo of that version is served (cacheable for a year: the version changes). */
export function logoUrl(version: string): string {
  return `/api/site/logo?v=${encodeURIComponent(version)}`;
}

/** `https://host[:port]`, nothing else (no path, no credentials, no wildcard). */
function httpsOrigin(name: string, value: unknown): string {
  if (typeof value === "string" && value.length <= 200) {
    try {
      const url = new URL(value);
      if (
        url.protocol === "https:" &&
        url.origin !== "null" &&
        !url.username &&
        !url.password &&
        url.origin === value.replace(/\/$/, "")
      )
        return url.origin;
    } catch {
      // Not a URL: refused below.
    }
  }
  throw invalid(msg("site_image_origins_invalid", { field: name, max: MAX_IMAGE_ORIGINS }));
}
