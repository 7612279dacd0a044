import { badRequest } from "./errors";
import type { GatewayRequest } from "./types";

const decoder = new TextDecoder();

export type JsonObject = Record<string, unknown>;

/** The request body as a JSON object, or a 400 that says what is wrong with it. */
export function readJsonObject(request: GatewayRequest): JsonObject {
  if (request.body.length === 0) {
    throw badRequest("The request body is empty; this endpoint expects a JSON object.");
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(request.body));
  } catch (err) {
    const detail = err instanceof SyntaxError ? ` (${err.message})` : "";
    throw badRequest(`We could not parse the JSON body of your request${detail}.`);
  }
  if (!isObject(value)) throw badRequest("The request body must be a JSON object.");
  return value;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function requireString(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined || value === null || value === "") {
    throw badRequest(`You must provide a ${field} parameter.`, field, "missing_required_parameter");
  }
  if (typeof value !== "string") {
    throw badRequest(`Invalid type for '${field}': expected a string.`, field, "invalid_type");
  }
  return value;
}

/**
 * A field that, when present, must be a whole number of at least `min`. Counts feed
 * quota holds, so a fraction or a negative must never reach them.
 */
export function optionalCount(body: JsonObject, field: string, min = 1): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw badRequest(
      `Invalid '${field}': expected an integer of at least ${min}.`,
      field,
      "invalid_value",
    );
  }
  return value;
}

/** The objects in a value that should be an array of them; upstream JSON is not trusted. */
export function objectsIn(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}
