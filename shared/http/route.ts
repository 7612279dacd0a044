import type { KeyPrincipal, UserPrincipal } from "../auth/authenticate";
import type { Services } from "../services";
import type { Timing } from "./timing";
import type { GatewayRequest, GatewayResponse, RequestContext } from "./types";

/** Everything a route handler gets for one request. */
export interface Call<P = undefined> {
  request: GatewayRequest;
  params: Record<string, string>;
  principal: P;
  services: Services;
  context: RequestContext;
  timing: Timing;
  /** Set when the call is a line of a batch: it is billed at the batch discount. */
  batchId?: string;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
type Handler<P> = (call: Call<P>) => Promise<GatewayResponse>;

/**
 * How a route's errors are written: OpenAI's {error: {message, type, param, code}}, one-api's
 * {success: false, message} (the management API's, for its users' scripts), or Anthropic's
 * {type: "error", error: {type, message}} (the Messages API's, shared/anthropic/).
 */
export type Envelope = "openai" | "one-api" | "anthropic";

export type Route = (
  | { method: Method; path: string; auth: "apiKey"; handle: Handler<KeyPrincipal> }
  | { method: Method; path: string; auth: "user"; handle: Handler<UserPrincipal> }
  | { method: Method; path: string; auth: "public"; handle: Handler<undefined> }
) & {
  envelope: Envelope;
  /**
   * The envelope by the request, for a route both faces share (GET /v1/models): Anthropic's
   * for a caller that speaks Anthropic (see speaksAnthropic).
   */
  envelopeFor?(request: GatewayRequest): Envelope;
  /** Body types a write to /api/* may send, when not only JSON (shared/http/cross-site.ts). */
  bodyTypes?: readonly string[];
};

/** A /v1 route, called with an `sk-` key; it answers errors in OpenAI's envelope. */
export function keyRoute(method: Method, path: string, handle: Handler<KeyPrincipal>): Route {
  return { method, path, auth: "apiKey", handle, envelope: "openai" };
}

/** A route of the Messages API (shared/anthropic/), with an `sk-` key; Anthropic's envelope. */
export function anthropicRoute(method: Method, path: string, handle: Handler<KeyPrincipal>): Route {
  return { method, path, auth: "apiKey", handle, envelope: "anthropic" };
}

/**
 * A request from an Anthropic client: the SDKs and Claude Code send `anthropic-version`, and
 * their key as `x-api-key` (OpenAI's clients send neither).
 */
export function speaksAnthropic(request: GatewayRequest): boolean {
  return (
    request.headers["anthropic-version"] !== undefined || request.headers["x-api-key"] !== undefined
  );
}

/**
 * A management route, called with a system access token or from a console session; it
 * answers errors in one-api's envelope.
 */
export function userRoute(method: Method, path: string, handle: Handler<UserPrincipal>): Route {
  return { method, path, auth: "user", handle, envelope: "one-api" };
}

/** A route anyone may call: signing in and up, the site's status, the console's files. */
export function publicRoute(
  method: Method,
  path: string,
  envelope: Envelope,
  handle: Handler<undefined>,
): Route {
  return { method, path, auth: "public", handle, envelope };
}

/**
 * The envelope of a request no route took: one-api's on /api/*, Anthropic's for a caller that
 * speaks it (Claude Code's start-up `HEAD /`), else OpenAI's.
 */
export function envelopeOf(request: GatewayRequest): Envelope {
  if (request.path.startsWith("/api/")) return "one-api";
  return speaksAnthropic(request) ? "anthropic" : "openai";
}

/** The same route under a second path (e.g. one-api's PUT /api/token/ with the id in the body). */
export function alias(route: Route, path: string): Route {
  return { ...route, path };
}
