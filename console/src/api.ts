import type { TopUpSourceKind } from "../../shared/billing/top-up-source";
/**
 * The console's client of sluice's management API: one-api's envelope
 * `{success, message, data}`, the session cookie (same origin) and, on every request that
 * changes something, the session's CSRF token in `X-CSRF-Token`. A call the server refuses
 * until the user proves who they are is sent once more with their password.
 */

export interface Envelope<T> {
  success: boolean;
  message: string;
  data: T;
  total?: number;
  next_cursor?: string | null;
  has_more?: boolean;
  duplicate?: boolean;
}

export type Role = "user" | "admin";
export type Bucket = "free" | "bonus" | "paid";

export interface User {
  id: string;
  username?: string;
  name?: string;
  role: Role;
  group: string;
  status: string;
  created_at: number;
  free_quota: number;
  bonus_quota: number;
  paid_quota: number;
  total_quota: number;
  total_quota_dollar?: number;
  used_quota: number;
  used_quota_dollar?: number;
  request_count: number;
  /** The site's trial quota offered at sign-up, and whether it is granted yet. */
  trial_quota?: number;
  trial_state?: "pending" | "granted" | null;
  /** An admin's overrides of the user's group limits per user (absent: the group's). */
  rate_limits?: RateLimits;
  csrf_token?: string;
  access_token?: string;
  // stream e-mail
  email?: string | null;
  email_verified?: boolean;
  low_balance_alert_usd?: number | null;
}

/** Requests and tokens per minute, calls at once; 0 is no limit. */
export interface RateLimits {
  rpm?: number;
  tpm?: number;
  concurrency?: number;
}

export interface KeyView {
  id: string;
  name: string;
  key: string;
  status: "enabled" | "disabled" | "expired" | "exhausted";
  created_time: number;
  accessed_time: number;
  expired_time: number;
  remain_quota: number;
  unlimited_quota: boolean;
  used_quota: number;
  models: string[] | null;
}

/** Where a top-up came from, as customers see it (its `reference` is internal). */
export type SourceKind = TopUpSourceKind;

export interface LogRow {
  /** A call, a top-up, or calls refused in one minute (counted in one line). */
  type: "consume" | "topup" | "refused";
  created_at: number;
  request_id: string;
  user_id: string;
  username?: string | null;
  key_name: string | null;
  model: string | null;
  endpoint: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  quota: number;
  quota_dollar: number;
  held: number | null;
  shortfall: number | null;
  latency_ms: number | null;
  status: number | null;
  outcome: string | null;
  stream: boolean;
  channel_id: string | null;
  /** The admin's log only: the channel's name (null when it is gone). */
  channel_name?: string | null;
  batch_id: string | null;
  bucket: Bucket | null;
  reference: string | null;
  /** Top-ups: where it came from; `id` is a short public id (an order's). */
  source?: { kind: SourceKind; id?: string } | null;
  /** Refused lines: how many calls, and why (a message code). */
  count?: number;
  reason?: string | null;
  /** The kinds of usage the call had, only those above 0 (see usage.ts). */
  input_tokens?: number;
  cached_input_tokens?: number;
  cache_write_tokens?: number;
  cache_write_1h_tokens?: number;
  audio_input_tokens?: number;
  cached_audio_input_tokens?: number;
  image_input_tokens?: number;
  cached_image_input_tokens?: number;
  output_tokens?: number;
  reasoning_tokens?: number;
  audio_output_tokens?: number;
  image_output_tokens?: number;
  calls?: number;
  seconds?: number;
  characters?: number;
  image_count?: number;
  image_size?: string;
  image_quality?: string;
  /** What each kind cost, in units (decimals; display only). */
  costs?: Record<string, number>;
}

export interface LogStat {
  quota: number;
  quota_dollar: number;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** False when the totals cover only the newest lines (the server's read budget ran out). */
  complete?: boolean;
}

export interface UsageRow {
  date: string;
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  quota: number;
  quota_dollar: number;
}

export interface Channel {
  id: string;
  type: string;
  name: string;
  base_url: string;
  key: string;
  models: string[];
  model_mapping: Record<string, string> | null;
  priority: number;
  weight: number;
  status: "enabled" | "disabled";
  disabled_reason: string | null;
  disabled_at?: number | null;
  /** The channel's state and its models' that are not plainly healthy (README, Channel health). */
  health?: {
    state: "healthy" | "degraded" | "disabled";
    reason: string | null;
    since: number | null;
    models: Record<string, ModelHealth>;
  };
  config: Record<string, string> | null;
  created_at: number;
}

export interface ModelHealth {
  state: "healthy" | "cooling" | "open" | "half_open" | "disabled";
  reason: string | null;
  since: number | null;
  until: number | null;
  failures: number;
}

export interface Redemption {
  id: string;
  name: string;
  status: "enabled" | "disabled" | "used";
  quota: number;
  quota_dollar: number;
  bucket: Bucket;
  created_at: number;
  created_by?: string | null;
  used_by?: string | null;
  used_at?: number | null;
}

export type Registration = "open" | "closed" | "invitation";
export type TrialVerification = "none" | "turnstile" | "approval";

/** GET /api/status: what the sign-in and register pages need. */
export interface SiteStatus {
  registration: Registration;
  version: string;
  /** Set when registering needs a Cloudflare Turnstile check: the widget's site key. */
  turnstile_site_key: string | null;
  /** The operator's branding, when the site has it (the shell shows sluice's otherwise). */
  system_name?: string | null;
  /** The logo's URL. */
  logo?: string | null;
  /** The footer's text in the language asked for. */
  footer?: string | null;
  /** The operator's colour (#rrggbb), set as --brand by branding.ts. */
  theme_color?: string | null;
  /** https origins the operator's Markdown may show images from (besides this site). */
  image_origins?: string[];
  /** Whether visitors land on the home page (GET /api/home_page_content) instead of sign-in. */
  home_page?: boolean;
  // stream D (sign-in): the providers offered (shared/site/sections/oauth-*.ts)
  oauth_github?: boolean;
  oauth_linuxdo?: boolean;
  oauth_oidc?: boolean;
  oauth_oidc_label?: string | null;
  // stream e-mail (shared/site/sections/mail.ts): a code at registration; mail can be sent
  email_verification?: "off" | "required";
  mail?: boolean;
}

/** GET /api/option (admin). */
export interface SiteOptions {
  registration: Registration;
  new_user_quota: number;
  trial_verification: TrialVerification;
  turnstile_site_key: string | null;
  turnstile_secret_set: boolean;
  version: number;
}

/** An attempt counter at its limit: a sign-in lock or slowdown, a registration or redemption limit. */
export interface Lock {
  id: string;
  kind: string;
  username: string | null;
  address: string | null;
  user_id: string | null;
  failures: number;
  limit: number;
  /** Unix seconds when it ends. */
  until: number;
}

/**
 * A refused call: the server's English `message`, and its message `code` and `params`, which
 * the console words in the reader's language (messages/translate.ts).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The message code, when the server gave one (e.g. `reauthentication_required`). */
    readonly code?: string,
    /** The values the message names (`field`, `retry_after_seconds`, …). */
    readonly params?: Record<string, unknown>,
  ) {
    super(message);
  }
}

let csrfToken = "";
let onSessionLost: (() => void) | undefined;
/**
 * Counts sign-ins and sign-outs (`newSession`): an answer to a request sent before one speaks
 * of a session that is gone — a 401 of the old session must not sign out the new one, and
 * the user read while signed in must not sign the page back in (session.ts).
 */
let sessionEpoch = 0;

export function newSession(): void {
  sessionEpoch++;
}

export function currentSession(): number {
  return sessionEpoch;
}
let askPassword: (() => Promise<string | null>) | undefined;
let asking: Promise<string | null> | undefined;

/** The session's CSRF token, from the sign-in answer or GET /api/user/self. */
export function setCsrf(token: string | undefined | null): void {
  if (token) csrfToken = token;
}

/** Called when a signed-in request answers 401: the session ended elsewhere. */
export function whenSessionLost(handler: () => void): void {
  onSessionLost = handler;
}

/**
 * Asks the signed-in user for their current password (null: they declined), when the server
 * answers that a call needs it (README, Sign-in and sessions).
 */
export function whenPasswordNeeded(handler: () => Promise<string | null>): void {
  askPassword = handler;
}

/** One question at a time: calls refused together wait for the same answer. */
function passwordOnce(ask: () => Promise<string | null>): Promise<string | null> {
  asking ??= ask().finally(() => {
    asking = undefined;
  });
  return asking;
}

export type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * One request; answers the envelope, or throws an ApiError with the envelope's message
 * (or OpenAI's error message, or the HTTP status when the body is not JSON). Refused with
 * `reauthentication_required` (an admin's change that makes a credential, from a session
 * signed in a while ago), it asks for the password and sends the call once more with it, in
 * `current_password` beside the body's fields.
 */
export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { signedIn?: boolean } = {},
): Promise<Envelope<T>> {
  try {
    return await send<T>(method, path, body, options);
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "reauthentication_required" || !askPassword)
      throw err;
    const password = await passwordOnce(askPassword);
    if (password === null) throw err;
    const fields = (body ?? {}) as Record<string, unknown>;
    return send<T>(method, path, { ...fields, current_password: password }, options);
  }
}

async function send<T>(
  method: string,
  path: string,
  body: unknown,
  options: { signedIn?: boolean },
): Promise<Envelope<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  // A file (the logo) goes as its raw bytes, with its own type; anything else as JSON.
  const raw = body instanceof Blob;
  if (body !== undefined)
    headers["content-type"] = raw ? body.type || "application/octet-stream" : "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const epoch = sessionEpoch;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "");
  }
  type Answer = Envelope<T> & {
    code?: string;
    params?: Record<string, unknown>;
    error?: { message?: string };
  };
  let envelope: Answer | null = null;
  try {
    envelope = (await response.json()) as Answer;
  } catch {
    // Not JSON: reported by status below.
  }
  if (!response.ok || !envelope || envelope.success === false) {
    if (response.status === 401 && options.signedIn !== false && epoch === sessionEpoch)
      onSessionLost?.();
    const message = envelope?.message || envelope?.error?.message || `HTTP ${response.status}`;
    const params = typeof envelope?.params === "object" ? envelope.params : undefined;
    throw new ApiError(response.status, message, envelope?.code, params ?? undefined);
  }
  return envelope;
}

export const get = <T>(path: string, query?: Query) => request<T>("GET", withQuery(path, query));
export const post = <T>(path: string, body: unknown = {}) => request<T>("POST", path, body);
export const put = <T>(path: string, body: unknown) => request<T>("PUT", path, body);
export const patch = <T>(path: string, body: unknown) => request<T>("PATCH", path, body);
export const del = <T>(path: string) => request<T>("DELETE", path);
