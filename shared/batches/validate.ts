import { BATCH_WORKER } from "../config/resources";
import { type JsonScan, jsonWeight, MAX_JSON_DEPTH, maxJsonWeight, scanJson } from "../json-limits";
import { functionMemoryMb } from "../memory";
import type { BatchError } from "../store/batches";

/** One request of a batch input file. */
export interface BatchLine {
  /** 1-based line number in the input file. */
  line: number;
  customId: string;
  body: Record<string, unknown>;
}

export type Validation =
  | { ok: true; lines: BatchLine[]; model: string }
  | { ok: false; errors: BatchError[] };

/** Errors reported at most, as OpenAI does not list every bad line of a huge file either. */
const MAX_ERRORS = 100;

/** A line's custom_id is kept in its result record, which must stay a small table item. */
const MAX_CUSTOM_ID_LENGTH = 1_024;

/** OpenAI's cap on the inputs of an embeddings batch, across all its requests. */
export const MAX_EMBEDDING_INPUTS = 50_000;

/**
 * Checks a batch input file: JSON on every line, a unique custom_id, method POST, url equal
 * to the batch endpoint, a body with a model (one model per file), no streaming, the line
 * limit, and for embeddings the limit on inputs. Blank lines are skipped. Every line's
 * request is kept, so the file's keys and values together must fit in the function's memory
 * (as a request body's must): the file fails before the line that would pass that is parsed.
 */
export function validateBatchInput(
  text: string,
  endpoint: string,
  maxLines: number,
  // The batch worker's memory, locally too (the stack gives it 512 MB, not the API's 128).
  memoryMb = functionMemoryMb(process.env, BATCH_WORKER.memoryMiB),
): Validation {
  const errors: BatchError[] = [];
  const lines: BatchLine[] = [];
  const seen = new Set<string>();
  let model: string | undefined;
  const maxWeight = maxJsonWeight(Buffer.byteLength(text), memoryMb);
  let weight = 0;

  for (const [index, row] of text.split(/\r?\n/).entries()) {
    if (row.trim() === "") continue;
    const scan = scanJson(row);
    weight += jsonWeight(scan);
    if (weight > maxWeight) {
      return {
        ok: false,
        errors: [
          ...errors,
          {
            code: "too_many_values",
            message: `The input file's requests hold too much to parse at once: up to line ${index + 1} their values and keys weigh more than ${maxWeight} (a value counts as 1, a string, array or object as 2, a key as 3). Split it into smaller batches.`,
            param: null,
            line: index + 1,
          },
        ],
      };
    }
    const checked = checkLine(row, scan, index + 1, endpoint, seen, model);
    if ("code" in checked) {
      if (errors.length < MAX_ERRORS) errors.push(checked);
      continue;
    }
    model ??= checked.body.model as string;
    lines.push(checked);
  }

  if (errors.length === 0 && lines.length === 0) {
    errors.push({
      code: "empty_file",
      message: "The input file has no requests.",
      param: null,
      line: null,
    });
  }
  if (lines.length > maxLines) {
    errors.push({
      code: "too_many_tasks",
      message: `The input file has ${lines.length} requests; a batch can have at most ${maxLines}.`,
      param: null,
      line: null,
    });
  }
  if (endpoint === "/v1/embeddings") {
    const inputs = lines.reduce((sum, { body }) => sum + inputCount(body.input), 0);
    if (inputs > MAX_EMBEDDING_INPUTS) {
      errors.push({
        code: "too_many_tasks",
        message: `The input file has ${inputs} embedding inputs; a batch can have at most ${MAX_EMBEDDING_INPUTS}.`,
        param: null,
        line: null,
      });
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, lines, model: model as string };
}

/** An embeddings request's inputs: one string or token array, or an array of them. */
function inputCount(input: unknown): number {
  if (!Array.isArray(input)) return 1;
  // An array of numbers is one tokenised input.
  return input.length > 0 && input.every((item) => typeof item === "number") ? 1 : input.length;
}

/** One line: the request, or what is wrong with it. */
function checkLine(
  row: string,
  scan: JsonScan,
  line: number,
  endpoint: string,
  seen: Set<string>,
  model: string | undefined,
): BatchLine | BatchError {
  const error = (code: string, message: string, param: string | null = null): BatchError => ({
    code,
    message,
    param,
    line,
  });
  if (scan.tooDeep) {
    return error("invalid_json_line", `This line nests deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  let request: unknown;
  try {
    request = JSON.parse(row);
  } catch {
    return error("invalid_json_line", "This line is not parseable as valid JSON.");
  }
  if (!request || typeof request !== "object" || Array.isArray(request)) {
    return error("invalid_json_line", "This line is not a JSON object.");
  }
  const { custom_id: customId, method, url, body } = request as Record<string, unknown>;
  if (typeof customId !== "string" || customId === "") {
    return error(
      "missing_required_parameter",
      "Each request needs a custom_id string.",
      "custom_id",
    );
  }
  if (customId.length > MAX_CUSTOM_ID_LENGTH) {
    return error(
      "invalid_request",
      `A custom_id can be at most ${MAX_CUSTOM_ID_LENGTH} characters.`,
      "custom_id",
    );
  }
  if (seen.has(customId)) {
    return error(
      "duplicate_custom_id",
      `The custom_id ${customId} is used by another request in this file.`,
      "custom_id",
    );
  }
  seen.add(customId);
  if (method !== "POST") return error("invalid_method", "The method must be POST.", "method");
  if (url !== endpoint) {
    return error(
      "url_mismatch",
      `The url ${String(url)} does not match the batch's endpoint ${endpoint}.`,
      "url",
    );
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    return error("missing_required_parameter", "Each request needs a body object.", "body");
  }
  const requestBody = body as Record<string, unknown>;
  if (typeof requestBody.model !== "string" || requestBody.model === "") {
    return error("missing_required_parameter", "Each request's body needs a model.", "body.model");
  }
  if (model !== undefined && requestBody.model !== model) {
    return error(
      "model_mismatch",
      `Each input file can only include requests to a single model (${model}).`,
      "body.model",
    );
  }
  if (requestBody.stream === true)
    return error("invalid_request", "Batch requests cannot stream.", "body.stream");
  return { line, customId, body: requestBody };
}
