import { notFound } from "../http/errors";
import { publicRoute } from "../http/route";
import type { GatewayRequest, GatewayResponse } from "../http/types";
import type { Services } from "../services";
import type { ConsoleFile } from "./console-files";

/**
 * What every console response says to the browser: only this site's own scripts and styles
 * (no inline ones), no framing, no sniffing, no referrer. HSTS is sent where sessions are
 * secure (HTTPS).
 */
export const CONSOLE_SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** GET /: the console's page. Always revalidated, so a new deployment shows at once. */
export const consoleIndex = publicRoute("GET", "/", (call) =>
  serve(call, call.services.consoleFiles?.get("index.html"), "no-cache"),
);

/** GET /assets/{file}: named by their content's hash, so cached for a year. */
export const consoleAsset = publicRoute("GET", "/assets/:file", (call) =>
  serve(
    call,
    call.services.consoleFiles?.get(`assets/${call.params.file}`),
    "public, max-age=31536000, immutable",
  ),
);

async function serve(
  { request, services }: { request: GatewayRequest; services: Services },
  loading: Promise<ConsoleFile | undefined> | undefined,
  cacheControl: string,
): Promise<GatewayResponse> {
  const file = await loading;
  if (!file) throw notFound(`No such file: ${request.path}`);
  const headers = {
    ...CONSOLE_SECURITY_HEADERS,
    "content-type": file.contentType,
    "cache-control": cacheControl,
    etag: file.etag,
    ...(services.settings.console.secureCookies
      ? { "strict-transport-security": "max-age=31536000; includeSubDomains" }
      : {}),
  };
  if (request.headers["if-none-match"] === file.etag) return { status: 304, headers, body: "" };
  return { status: 200, headers, body: file.body };
}
