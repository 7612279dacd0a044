import { jsonWeight, MAX_JSON_DEPTH, maxJsonWeight, scanJson } from "../json-limits";
import { msg } from "../messages/codes";
import { ApiError, badRequest } from "./errors";
import type { GatewayRequest } from "./types";

const decoder = new TextDecoder();

export type JsonObject = Record<string, unknown>;

/**
 * The request body as a JSON object, or a 400 that says what is wrong with it — or a 413 when
 * it holds more keys and values than the function's memory can parse beside its bytes.
 */
export function readJsonObject(request: GatewayRequest): JsonObject {
  // A leading byte-order mark is dropped, as TextDecoder drops it from bytes.
  const text = request.text?.replace(/^\uFEFF/, "") ?? decoder.decode(request.body);
  if (text.length === 0) {
    throw badRequest(msg("body_empty"));
  }
  const scan = scanJson(text);
  if (scan.tooDeep) {
    throw badRequest(msg("body_too_deep", { max: MAX_JSON_DEPTH }));
  }
  const bytes = Buffer.byteLength(text);
  const weight = jsonWeight(scan);
  const max = maxJsonWeight(bytes);
  if (weight > max) {
    const { values, containers, strings, keys } = scan;
    throw new ApiError(
      413,
      msg("body_too_many_items", {
        values,
        containers,
        strings: strings - keys,
        keys,
        weight,
        max,
        megabytes: bytes / 1024 / 1024,
      }),
      "invalid_request_error",
      "request_too_large",
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(
      msg("body_not_json", { detail: err instanceof SyntaxError ? err.message : "" }),
    );
  }
  if (!isObject(value)) throw badRequest(msg("body_not_object"));
  return value;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function requireString(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined || value === null || value === "") {
    throw badRequest(msg("parameter_missing", { field }), field, "missing_required_parameter");
  }
  if (typeof value !== "string") {
    throw badRequest(msg("parameter_not_string", { field }), field, "invalid_type");
  }
  return value;
}

/**
 * A field that, when present, must be a whole number of at least `min`. Counts feed
 * quota holds, so a fraction or a negative must never reach them.
 */
export function optionalCount(
  body: JsonObject,
  field: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number") {
    throw badRequest(msg("parameter_not_integer", { field }), field, "invalid_type");
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badRequest(msg("parameter_out_of_range", { field, min, max }), field, "invalid_value");
  }
  return value;
}

/** A field that, when present, must be a boolean (`"stream": "true"` is not one). */
export function optionalBoolean(body: JsonObject, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") {
    throw badRequest(msg("parameter_not_boolean", { field }), field, "invalid_type");
  }
  return value;
}

/** The objects in a value that should be an array of them; upstream JSON is not trusted. */
export function objectsIn(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}
