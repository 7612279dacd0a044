import { demoTokens, hashBytes } from "./common";
import { type Call, jsonBody, sendError, sendJson } from "./http";

interface EmbeddingRequest {
  model: string;
  input: unknown;
  encoding_format: string;
  dimensions: number;
}

const DEFAULT_DIMENSIONS = 8;

/**
 * POST /v1/embeddings. Each input gets a unit vector derived from a hash of its text (or
 * token ids), so equal inputs embed equally. Values are float32, so the "float" and
 * "base64" encodings carry exactly the same numbers.
 */
export async function embeddings(call: Call): Promise<void> {
  const { res, fault } = call;
  const request = jsonBody<EmbeddingRequest>(call);
  const inputs = embeddingInputs(request.input);
  if (!inputs) {
    return sendError(
      res,
      400,
      "'input' must be a non-empty string, array of strings, array of tokens or array of token arrays.",
      null,
      "input",
    );
  }
  const format = request.encoding_format ?? "float";
  if (format !== "float" && format !== "base64") {
    return sendError(
      res,
      400,
      "'encoding_format' must be float or base64.",
      null,
      "encoding_format",
    );
  }
  const dimensions = request.dimensions ?? DEFAULT_DIMENSIONS;
  if (!Number.isInteger(dimensions) || dimensions < 1) {
    return sendError(res, 400, "'dimensions' must be a positive integer.", null, "dimensions");
  }
  const tokens = inputs
    .map((input) => (typeof input === "string" ? demoTokens(input).length : input.length))
    .reduce((a, b) => a + b, 0);
  sendJson(res, 200, {
    object: "list",
    data: inputs.map((input, index) => {
      const vector = demoVector(typeof input === "string" ? input : `tokens:${input}`, dimensions);
      return {
        object: "embedding",
        index,
        embedding: format === "base64" ? float32Base64(vector) : Array.from(vector),
      };
    }),
    model: request.model ?? "demo",
    ...(fault.omitUsage ? {} : { usage: { prompt_tokens: tokens, total_tokens: tokens } }),
  });
}

/** The inputs as texts or token arrays; undefined when the shape is not one OpenAI accepts. */
function embeddingInputs(input: unknown): (string | number[])[] | undefined {
  const isTokens = (v: unknown): v is number[] =>
    Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t));
  let inputs: unknown[];
  if (typeof input === "string") inputs = [input];
  else if (isTokens(input)) inputs = [input];
  else if (Array.isArray(input)) inputs = input;
  else return undefined;
  const valid = inputs.every((v) => (typeof v === "string" && v !== "") || isTokens(v));
  return valid && inputs.length > 0 ? (inputs as (string | number[])[]) : undefined;
}

/** A unit vector of `dimensions` float32 values in [-1, 1], from a hash of `seed`. */
export function demoVector(seed: string, dimensions: number): Float32Array {
  const bytes = hashBytes(seed, dimensions * 4);
  const raw = Array.from({ length: dimensions }, (_, i) => bytes.readUInt32LE(i * 4) / 2 ** 31 - 1);
  const norm = Math.hypot(...raw) || 1;
  return Float32Array.from(raw, (v) => v / norm);
}

/** OpenAI's base64 encoding: the float32 values, little-endian, base64-encoded. */
function float32Base64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (const [i, v] of vector.entries()) bytes.writeFloatLE(v, i * 4);
  return bytes.toString("base64");
}
