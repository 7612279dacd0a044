import { InvalidRequest } from "../errors";
import { type JsonObject, readJsonObject } from "../http/body";
import type { GatewayRequest } from "../http/types";

/** Answers above this many tokens exist nowhere: a larger max_output_tokens is a mistake (400). */
const MAX_OUTPUT_LIMIT = 10_000_000;

/** A Responses request as the face reads it: what sluice bills on, and the bytes to pass on. */
export interface ResponsesRequest {
  /** The client's body, exactly as it came: what a Responses-native channel is sent. */
  raw: Uint8Array;
  body: JsonObject;
  model: string;
  /** `max_output_tokens` (reasoning included), when the client set one. */
  maxOutputTokens: number | undefined;
  stream: boolean;
}

/**
 * Reads a Responses body, checking only what sluice bills on: `model`, `stream` a boolean and
 * `max_output_tokens` a positive integer when present. Input items, tools, `text.format`,
 * `reasoning` and the rest are the upstream's to judge (Codex sends new item types often).
 */
export function readResponsesRequest(request: GatewayRequest): ResponsesRequest {
  const body = readJsonObject(request);
  const model = body.model;
  if (typeof model !== "string" || model === "") {
    throw new InvalidRequest(
      "Missing required parameter: 'model'.",
      "model",
      "missing_required_parameter",
    );
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    throw new InvalidRequest(
      "Invalid type for 'stream': expected a boolean.",
      "stream",
      "invalid_type",
    );
  }
  const max = body.max_output_tokens;
  if (
    max !== undefined &&
    max !== null &&
    (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > MAX_OUTPUT_LIMIT)
  ) {
    throw new InvalidRequest(
      `Invalid 'max_output_tokens': expected an integer from 1 to ${MAX_OUTPUT_LIMIT}.`,
      "max_output_tokens",
      "invalid_value",
    );
  }
  return {
    raw: request.body,
    body,
    model,
    maxOutputTokens: typeof max === "number" ? max : undefined,
    stream: body.stream === true,
  };
}
