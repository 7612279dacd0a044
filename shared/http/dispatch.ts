import { timingSafeEqual } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import { requireBodyType } from "./cross-site";
import { toAnthropicError, toApiError } from "./error-mapping";
import { ApiError, serverError } from "./errors";
import { type Call, envelopeOf, type Route } from "./route";
import { Router } from "./router";
import { Timing } from "./timing";
import type { GatewayRequest, GatewayResponse, RequestContext } from "./types";

export type Dispatch = (
  request: GatewayRequest,
  context: RequestContext,
) => Promise<GatewayResponse>;

/**
 * Turns routes into one request handler: match, authenticate, run, and render errors in
 * the envelope the caller expects (OpenAI's on /v1, one-api's on /api). Every response
 * gets x-request-id and Server-Timing.
 */
export function createDispatcher(routes: readonly Route[], services: Services): Dispatch {
  const router = new Router(routes);
  return async (request, context) => {
    const timing = new Timing(request.receivedAt);
    let response: GatewayResponse;
    let envelope = envelopeOf(request);
    try {
      const match = router.match(request.method, request.path);
      if (match && "route" in match)
        envelope = match.route.envelopeFor?.(request) ?? match.route.envelope;
      if (!match) {
        throw new ApiError(
          404,
          msg("route_not_found", { method: request.method, path: request.path }),
        );
      }
      if ("methodNotAllowed" in match) {
        throw new ApiError(
          405,
          msg("method_not_allowed", { method: request.method, path: request.path }),
        );
      }
      // No id sluice gives out comes near this; a longer one (past DynamoDB's key limits)
      // names nothing.
      if (Object.values(match.params).some((value) => Buffer.byteLength(value) > MAX_ID_BYTES)) {
        throw new ApiError(404, msg("path_not_found", { path: request.path.slice(0, 200) }));
      }
      // The route's own path, not the request's: the router reads "//api/x" as "/api/x".
      if (match.route.path.startsWith("/api/") && !SAFE_METHODS.has(request.method)) {
        requireBodyType(request, match.route.bodyTypes);
      }
      response = await run(match.route, {
        request,
        params: match.params,
        principal: undefined,
        services,
        context,
        timing,
      });
    } catch (err) {
      response = errorResponse(err, request, services.log, envelope);
    }
    response.headers["x-request-id"] = request.id;
    // Anthropic's SDKs read it as the answer's `_request_id`.
    if (envelope === "anthropic") response.headers["request-id"] = request.id;
    response.headers["server-timing"] = timing.header();
    return response;
  };
}

async function run(route: Route, call: Call): Promise<GatewayResponse> {
  const { auth } = call.services;
  switch (route.auth) {
    case "apiKey":
      return route.handle({ ...call, principal: await auth.apiKey(call.request) });
    case "user": {
      const principal = await auth.user(call.request);
      if (principal.session && !SAFE_METHODS.has(call.request.method)) {
        requireCsrfToken(call.request, principal.session.csrf);
      }
      return route.handle({ ...call, principal });
    }
    case "public":
      return route.handle(call);
  }
}

/** The longest path parameter (an id, a model name) looked up. */
export const MAX_ID_BYTES = 512;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A change made with the session cookie must carry the session's CSRF token in a header: a
 * page of another site can make the browser send the cookie (SameSite=Strict already stops
 * that in today's browsers), but cannot read the token to send with it.
 */
function requireCsrfToken(request: GatewayRequest, expected: string): void {
  const sent = request.headers["x-csrf-token"] ?? "";
  const same =
    sent.length === expected.length && timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
  if (!same) {
    throw new ApiError(
      403,
      msg("csrf_token_invalid"),
      "invalid_request_error",
      "csrf_token_invalid",
    );
  }
}

/**
 * An error as a response, in the envelope of the route that failed (by default, the one its
 * path would have: see envelopeOf): OpenAI's on /v1 as ever; one-api's on /api with the
 * message's code and its params (when it has any), for a client to act on and to word in its
 * reader's language (docs/design/open-for-business.md §3.1). 500 for the unexpected, which is
 * logged.
 */
export function errorResponse(
  err: unknown,
  request: GatewayRequest,
  log: Logger,
  envelope = envelopeOf(request),
): GatewayResponse {
  if (envelope === "anthropic") return anthropicErrorResponse(err, request, log);
  const error = toApiError(err) ?? unexpected(err, request, log);
  const body = envelope === "one-api" ? oneApiBody(error) : error.toJSON();
  return {
    status: error.status,
    headers: { "content-type": "application/json", ...error.headers },
    body: JSON.stringify(body),
  };
}

/** `{success: false, message, code, params}`; `params` only when the message names values. */
function oneApiBody(error: ApiError) {
  const code = error.messageCode ?? error.code;
  const params = Object.keys(error.params).length > 0 ? { params: error.params } : {};
  return { success: false, message: error.message, ...(code ? { code } : {}), ...params };
}

function unexpected(err: unknown, request: GatewayRequest, log: Logger): ApiError {
  log.error("unhandled error", {
    requestId: request.id,
    method: request.method,
    path: request.path,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  return serverError(request.id);
}

/** An error in Anthropic's envelope: `{"type":"error","error":{type,message},"request_id"}`. */
function anthropicErrorResponse(
  err: unknown,
  request: GatewayRequest,
  log: Logger,
): GatewayResponse {
  const error = toAnthropicError(err) ?? toAnthropicError(unexpected(err, request, log));
  const { status = 500, type = "api_error", message = "", headers = {} } = error ?? {};
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ type: "error", error: { type, message }, request_id: request.id }),
  };
}
