import { createHash } from "node:crypto";
import { NotFound } from "../errors";
import { publicRoute } from "../http/route";
import type { GatewayRequest, GatewayResponse } from "../http/types";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import { branding, DEFAULT_SITE_NAME, logoUrl } from "../site/sections/branding";
import { trial } from "../site/sections/trial";
import type { ConsoleFile } from "./console-files";

/** Where Cloudflare Turnstile's script and its challenge frame come from. */
export const TURNSTILE_ORIGIN = "https://challenges.cloudflare.com";

/**
 * What every console response says to the browser: only this site's own scripts and styles
 * (no inline ones), no framing, no sniffing, no referrer. HSTS is sent where sessions are
 * secure (HTTPS). With the Turnstile check on (management/trial-credit.ts), the register page
 * also loads Cloudflare's script, which renders its challenge in a frame of its own: that
 * origin is allowed for scripts and frames then, and only then. Images come from the site
 * itself, `data:`, and the https origins the operator lists for Markdown pages
 * (`branding.image_origins`).
 */
export function consoleSecurityHeaders(
  turnstile = false,
  imageOrigins: readonly string[] = [],
): Record<string, string> {
  const script = turnstile ? `'self' ${TURNSTILE_ORIGIN}` : "'self'";
  const frame = turnstile ? `frame-src 'self' ${TURNSTILE_ORIGIN}; ` : "";
  return {
    "content-security-policy": `default-src 'self'; script-src ${script}; style-src 'self'; img-src ${["'self'", "data:", ...imageOrigins].join(" ")}; connect-src 'self'; font-src 'self'; ${frame}frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'`,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

/**
 * GET /: the console's page, with the operator's name in `<title>` and logo as the icon, written
 * in at serve time from the cached options. Always revalidated, so a new deployment or a new
 * name shows at once; its policy follows the site's Turnstile option.
 */
export const consoleIndex = publicRoute("GET", "/", "openai", async (call) => {
  // The page still loads while the options cannot be read (a sign-up could not be made then).
  const site = await call.services.siteOptions.get().catch(() => undefined);
  const page: PageBranding = {
    turnstile: site?.of(trial).verification === "turnstile",
    name: site?.of(branding).name ?? DEFAULT_SITE_NAME,
    logoVersion: site?.of(branding).logoVersion,
    imageOrigins: site?.of(branding).imageOrigins ?? [],
  };
  return serve(call, call.services.consoleFiles?.get("index.html"), "no-cache", page);
});

/** GET /assets/{file}: named by their content's hash, so cached for a year. */
export const consoleAsset = publicRoute("GET", "/assets/:file", "openai", (call) =>
  serve(
    call,
    call.services.consoleFiles?.get(`assets/${call.params.file}`),
    "public, max-age=31536000, immutable",
  ),
);

/** What the page is written with: its policy, and the operator's name and logo. */
interface PageBranding {
  turnstile: boolean;
  name: string;
  logoVersion?: string;
  imageOrigins: readonly string[];
}

async function serve(
  { request, services }: { request: GatewayRequest; services: Services },
  loading: Promise<ConsoleFile | undefined> | undefined,
  cacheControl: string,
  page?: PageBranding,
): Promise<GatewayResponse> {
  const file = await loading;
  if (!file) throw new NotFound(msg("file_not_found", { path: request.path.slice(0, 200) }));
  const turnstile = page?.turnstile ?? false;
  // The policy and the branding are part of what a revalidation checks: a page cached under
  // another is sent again, not confirmed with a 304.
  const etag = page ? `${file.etag.replace(/"$/, "")}-${variant(page)}"` : file.etag;
  const headers = {
    ...consoleSecurityHeaders(turnstile, page?.imageOrigins),
    "content-type": file.contentType,
    "cache-control": cacheControl,
    etag,
    ...(services.settings.console.secureCookies
      ? { "strict-transport-security": "max-age=31536000; includeSubDomains" }
      : {}),
  };
  if (request.headers["if-none-match"] === etag) return { status: 304, headers, body: "" };
  return { status: 200, headers, body: page ? branded(file.body, page) : file.body };
}

function variant(page: PageBranding): string {
  return createHash("sha256")
    .update(JSON.stringify([page.turnstile, page.name, page.logoVersion ?? "", page.imageOrigins]))
    .digest("base64url")
    .slice(0, 12);
}

/** The built page (console/build.ts) with the site's name as its title and its logo as icon. */
function branded(body: Uint8Array, page: PageBranding): string {
  const icon = page.logoVersion ? escapeHtml(logoUrl(page.logoVersion)) : "data:,";
  return new TextDecoder()
    .decode(body)
    .replace("<title>sluice</title>", `<title>${escapeHtml(page.name)}</title>`)
    .replace('<link rel="icon" href="data:,">', `<link rel="icon" href="${icon}">`);
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}
