import type { UserPrincipal } from "../auth/authenticate";
import { Forbidden, InvalidRequest, NotFound } from "../errors";
import { json } from "../http/responses";
import type { Call } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { type Message, msg } from "../messages/codes";
import { renderEn } from "../messages/render";

/**
 * The management API answers in one-api's envelope, {success, message, data}, so the
 * scripts and habits of its users carry over. Errors use it too (the dispatcher renders a
 * management route's domain errors so: see Route.envelope), with a real HTTP status.
 */
export function ok(data: unknown = null, extra: Record<string, unknown> = {}): GatewayResponse {
  return json(200, { success: true, message: "", data, ...extra });
}

/**
 * A success's sentence for `ok`'s extra fields: `message` in English, and `message_code` (and
 * `message_params`) for a client to say it in its reader's language.
 */
export function saying(message: Message): Record<string, unknown> {
  const params = Object.keys(message.params).length > 0 ? { message_params: message.params } : {};
  return { message: renderEn(message), message_code: message.code, ...params };
}

export function invalid(message: Message): InvalidRequest {
  return new InvalidRequest(message);
}

export function notFound(message: Message): NotFound {
  return new NotFound(message);
}

export function requireAdmin(call: Call<UserPrincipal>): void {
  if (call.principal.user.role !== "admin") {
    throw new Forbidden(msg("admin_only"));
  }
}

/** one-api paging: `p` is the 0-based page, `size` its length (default 20, at most 100). */
export function page<T>(items: readonly T[], query: URLSearchParams): T[] {
  const p = Math.max(0, Number.parseInt(query.get("p") ?? "0", 10) || 0);
  const size = pageSize(query);
  return items.slice(p * size, p * size + size);
}

export function pageSize(query: URLSearchParams, fallback = 20, max = 100): number {
  const size = Number.parseInt(query.get("size") ?? query.get("page_size") ?? "", 10);
  return Number.isInteger(size) && size > 0 ? Math.min(size, max) : fallback;
}

/** A new password: long enough to be worth hashing, short enough not to be a weapon. */
export function newPassword(body: Record<string, unknown>, name: string): string {
  const password = field.string(body, name, { required: true, max: 128 }) as string;
  if (password.length < 8) throw invalid(msg("password_too_short", { field: name, min: 8 }));
  return password;
}

/** `YYYY-MM-DD HH:mm:ss` in UTC, the seed's format. */
export function utcDateTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function inRange(name: string, value: number, options: { min?: number; max?: number }): number {
  if (options.min !== undefined && value < options.min)
    throw invalid(msg("field_below_min", { field: name, min: options.min }));
  if (options.max !== undefined && value > options.max)
    throw invalid(msg("field_above_max", { field: name, max: options.max }));
  return value;
}

/** Field readers for request bodies that answer a bad value with a 400 naming the field. */
export const field = {
  string(
    body: Record<string, unknown>,
    name: string,
    options: { required?: boolean; max?: number } = {},
  ) {
    const value = body[name];
    if (value === undefined || value === null) {
      if (options.required) throw invalid(msg("field_required", { field: name }));
      return undefined;
    }
    if (typeof value !== "string") throw invalid(msg("field_not_string", { field: name }));
    if (options.required && value.trim() === "") throw invalid(msg("field_empty", { field: name }));
    if (options.max && value.length > options.max)
      throw invalid(msg("field_too_long", { field: name, max: options.max }));
    return value;
  },
  integer(
    body: Record<string, unknown>,
    name: string,
    options: { min?: number; max?: number } = {},
  ) {
    const value = body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isSafeInteger(value))
      throw invalid(msg("field_not_integer", { field: name }));
    return inRange(name, value, options);
  },
  number(
    body: Record<string, unknown>,
    name: string,
    options: { min?: number; max?: number } = {},
  ) {
    const value = body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value))
      throw invalid(msg("field_not_number", { field: name }));
    return inRange(name, value, options);
  },
  boolean(body: Record<string, unknown>, name: string) {
    const value = body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") throw invalid(msg("field_not_boolean", { field: name }));
    return value;
  },
  oneOf<T extends string>(
    body: Record<string, unknown>,
    name: string,
    allowed: readonly T[],
  ): T | undefined {
    const value = body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string" || !allowed.includes(value as T)) {
      throw invalid(msg("field_not_one_of", { field: name, allowed: allowed.join(", ") }));
    }
    return value as T;
  },
  /** A list of strings, also accepted comma-separated (one-api's channel form sends that). */
  stringList(body: Record<string, unknown>, name: string) {
    const value = body[name];
    if (value === undefined) return undefined;
    if (value === null) return null;
    const list = typeof value === "string" ? value.split(",") : value;
    if (!Array.isArray(list) || list.some((v) => typeof v !== "string")) {
      throw invalid(msg("field_not_string_list", { field: name }));
    }
    return (list as string[]).map((v) => v.trim()).filter(Boolean);
  },
  /** A string-to-string map, also accepted as a JSON string. */
  stringMap(body: Record<string, unknown>, name: string) {
    let value = body[name];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch {
        throw invalid(msg("field_not_string_map", { field: name }));
      }
    }
    if (
      typeof value !== "object" ||
      Array.isArray(value) ||
      Object.values(value as object).some((v) => typeof v !== "string")
    ) {
      throw invalid(msg("field_not_string_map", { field: name }));
    }
    return value as Record<string, string>;
  },
};
