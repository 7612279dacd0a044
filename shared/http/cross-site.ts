import { msg } from "../messages/codes";
import { ApiError } from "./errors";
import type { GatewayRequest } from "./types";

/** What a write to /api/* may send, unless its route declares other types. */
export const JSON_BODY: readonly string[] = ["application/json"];

/**
 * A write to the management API must say its body is JSON (or a type its route declares).
 * A page of another site can make a browser send a form or `text/plain` anywhere without
 * asking, but a JSON request from another origin needs the server's CORS consent first: so a
 * forged sign-in (login CSRF) or any other cross-site write is refused before it is read.
 * A write without a body (a DELETE, a rotation) says nothing and needs nothing.
 */
export function requireBodyType(request: GatewayRequest, accepted = JSON_BODY): void {
  const declared = request.headers["content-type"];
  if (declared === undefined && request.body.length === 0) return;
  const type = (declared ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (accepted.includes(type)) return;
  throw new ApiError(
    415,
    msg("unsupported_media_type", {
      accepted: accepted.join(" or "),
      first: accepted[0] ?? "",
      sent: type.slice(0, 100),
    }),
    "invalid_request_error",
    "unsupported_media_type",
  );
}

/**
 * A sign-in or registration sent from a browser must come from this site's own pages: its
 * `Origin`, when there is one, must be the request's own host or one of `siteOrigins` (a
 * domain of one's own in front). Programs other than browsers send no Origin, and are let in.
 */
export function requireOwnOrigin(request: GatewayRequest, siteOrigins: readonly string[]): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    // "null" (a sandboxed frame, a privacy redirect) and anything else unparseable.
  }
  const host = request.headers.host?.toLowerCase();
  const own =
    url !== undefined &&
    (url.protocol === "https:" || url.protocol === "http:") &&
    ((host !== undefined && url.host === host) || siteOrigins.includes(url.origin));
  if (!own) {
    throw new ApiError(
      403,
      msg("cross_site_request"),
      "invalid_request_error",
      "cross_site_request",
    );
  }
}
