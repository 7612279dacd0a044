import { randomInt, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { EventStreamCodec } from "@smithy/eventstream-codec";
import type { UpstreamFault } from "../demo-upstream";
import { withStreamFault } from "./anthropic";
import { checkBedrockAuth } from "./bedrock-auth";
import { claudeEvents, claudeId, claudeMessage, planAnswer } from "./claude-answer";
import {
  type ClaudeRequest,
  isObject,
  promptSegments,
  promptTokens,
  systemBlocksOf,
} from "./claude-request";
import { validateClaudeRequest } from "./claude-validate";
import type { Call, Handler } from "./http";
import { writeChunks } from "./stream";
import { loadTokenizer } from "./tokenizer";

/**
 * Claude on Amazon Bedrock's runtime API, as AWS documents it:
 * POST /model/{modelId}/invoke, /model/{modelId}/invoke-with-response-stream and
 * /model/{modelId}/count-tokens, authenticated by SigV4 (service `bedrock`) or a Bedrock API
 * key (bedrock-auth.ts).
 *
 * - The body is Anthropic's Messages body with `anthropic_version: "bedrock-2023-05-31"`,
 *   betas in an `anthropic_beta` array, and no `model` or `stream` (the model is in the path).
 *   Other checks are Anthropic's (claude-validate.ts, API version 2023-06-01's rules).
 * - The stream is AWS event-stream framing (encoded by the AWS SDK's own codec), each `chunk`
 *   event's payload `{"bytes":"<base64 of an Anthropic event>","p":"<padding>"}`, written to
 *   the socket in random-sized pieces; `message_stop` carries
 *   `amazon-bedrock-invocationMetrics`.
 * - Errors: JSON `{"message": …}` with the exception's name in `x-amzn-ErrorType`; mid-stream,
 *   exception frames (`throttlingException`, …).
 * - Faults: a queued `status` with `errorType` (ThrottlingException by default for 429, …);
 *   `omitUsage` leaves usage out of the Anthropic events, so that only the invocation
 *   metrics report it;
 *   `errorAfterChunks` (counted in events) sends an exception frame, `errorType` naming it
 *   (serviceUnavailableException by default); `cutAfterChunks` cuts after that many events;
 *   the prompt's faults as on the Anthropic API.
 *
 * From user reports rather than AWS's docs (marked where used): the wording of "extraneous
 * key" and "required key" errors, "invalid beta flag", the refusal of Claude Code's
 * `x-anthropic-billing-header` system block, and the x-amzn-bedrock-cache-* header names.
 */

export const BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31";

/**
 * Betas Bedrock takes in `anthropic_beta` (AWS's list as BerriAI/litellm PR #19875 quotes it);
 * any other is "invalid beta flag".
 */
export const BEDROCK_BETAS = [
  "interleaved-thinking-2025-05-14",
  "context-1m-2025-08-07",
  "context-management-2025-06-27",
  "effort-2025-11-24",
  "tool-search-tool-2025-10-19",
  "tool-examples-2025-10-29",
  "token-efficient-tools-2025-02-19",
  "output-128k-2025-02-19",
];

const DEFAULT_ERRORS: Record<number, [string, string]> = {
  400: [
    "ValidationException",
    "Malformed input request, please reformat your input and try again.",
  ],
  403: ["AccessDeniedException", "You don't have access to the model with the specified model ID."],
  404: [
    "ResourceNotFoundException",
    "Could not resolve the foundation model from the provided model identifier.",
  ],
  408: [
    "ModelTimeoutException",
    "Model has timed out in processing the request. Try your request again.",
  ],
  424: ["ModelErrorException", "The model returned an error. Try your request again."],
  429: ["ThrottlingException", "Too many requests, please wait before trying again."],
  500: [
    "InternalServerException",
    "The server encountered an internal error. Try your request again.",
  ],
  503: ["ServiceUnavailableException", "Bedrock is unable to process your request."],
};

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString("utf8"),
  (text) => new TextEncoder().encode(text),
);

export function sendBedrockError(
  res: ServerResponse,
  status: number,
  errorType?: string,
  message?: string,
  headers: Record<string, string> = {},
): void {
  const [defaultType, defaultMessage] = DEFAULT_ERRORS[status] ?? [
    "InternalServerException",
    "Error",
  ];
  const type = errorType ?? defaultType;
  // AWS's edge answers auth failures with `Message`; Bedrock itself with `message`.
  const key = status === 403 && type !== "AccessDeniedException" ? "Message" : "message";
  const body = JSON.stringify({ [key]: message ?? defaultMessage });
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": randomUUID(),
    "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    ...headers,
  });
  res.end(body);
}

export function failBedrock(call: Call, status: number): void {
  sendBedrockError(call.res, status, call.fault.errorType, call.fault.message, call.fault.headers);
}

export function bedrockRoute(method: string, url: URL): Handler | undefined {
  const match = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|count-tokens)$/.exec(
    url.pathname,
  );
  if (!match || method !== "POST") return undefined;
  const modelId = decodeURIComponent(match[1] as string);
  if (match[2] === "count-tokens") return (call) => countTokens(call, modelId);
  return (call) => invoke(call, modelId, match[2] === "invoke-with-response-stream");
}

export async function checkBedrockCaller(call: Call): Promise<boolean> {
  const failure = await checkBedrockAuth(
    {
      method: call.req.method ?? "POST",
      path: call.url.pathname,
      query: call.url.searchParams,
      headers: call.req.headers,
      body: call.raw,
    },
    call.providers.bedrock,
  );
  if (failure) sendBedrockError(call.res, failure.status, failure.errorType, failure.message);
  return failure === undefined;
}

/** The Anthropic model name Bedrock reports for an id: `us.anthropic.claude-x-20250929-v1:0` → `claude-x-20250929`. */
function claudeName(modelId: string): string {
  return modelId.replace(/^(?:[a-z]{2,6}\.)?anthropic\./, "").replace(/-v\d+(?::\d+)?$/, "");
}

/** Why Bedrock refuses the body, or undefined; `model` is the id from the path. */
function refusal(call: Call, body: unknown, modelId: string): [string, string] | undefined {
  if (!call.providers.bedrockModels.includes(modelId)) {
    return ["ValidationException", "The provided model identifier is invalid."];
  }
  if (!isObject(body))
    return [
      "ValidationException",
      "Malformed input request, please reformat your input and try again.",
    ];
  // The schema check's wording, as users report it (sigoden/aichat#543 and others).
  for (const key of ["model", "stream"]) {
    if (key in body) {
      return [
        "ValidationException",
        `Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`,
      ];
    }
  }
  for (const key of ["anthropic_version", "max_tokens", "messages"]) {
    if (!(key in body)) {
      return [
        "ValidationException",
        `Malformed input request: #: required key [${key}] not found, please reformat your input and try again.`,
      ];
    }
  }
  if (body.anthropic_version !== BEDROCK_ANTHROPIC_VERSION) {
    return [
      "ValidationException",
      `Malformed input request: #/anthropic_version: ${String(body.anthropic_version)} is not a valid enum value, please reformat your input and try again.`,
    ];
  }
  const betas = body.anthropic_beta;
  if (
    betas !== undefined &&
    (!Array.isArray(betas) || betas.some((beta) => !BEDROCK_BETAS.includes(beta)))
  ) {
    return ["ValidationException", "invalid beta flag"];
  }
  const billing = systemBlocksOf(body as ClaudeRequest).some(
    (block) =>
      typeof block.text === "string" && block.text.startsWith("x-anthropic-billing-header:"),
  );
  if (billing) {
    // Wording ours: Bedrock treats the attribution header as a reserved keyword.
    return [
      "ValidationException",
      "system: x-anthropic-billing-header is a reserved keyword and may not be used in the system prompt",
    ];
  }
  return undefined;
}

async function checked(call: Call, body: unknown, modelId: string, requireMaxTokens: boolean) {
  const refused = refusal(call, body, modelId);
  if (refused) {
    sendBedrockError(call.res, 400, refused[0], refused[1]);
    return undefined;
  }
  const request = { ...(body as ClaudeRequest), model: modelId };
  const tokenizer = await loadTokenizer();
  const rejection = validateClaudeRequest(request, {
    models: call.providers.bedrockModels,
    version: "2023-06-01",
    betas: (body as { anthropic_beta?: string[] }).anthropic_beta ?? [],
    signer: call.providers.signer,
    requireMaxTokens,
  });
  if (rejection) {
    sendBedrockError(call.res, 400, "ValidationException", rejection.message);
    return undefined;
  }
  return { request, tokenizer };
}

async function invoke(call: Call, modelId: string, stream: boolean): Promise<void> {
  const started = Date.now();
  const ok = await checked(call, call.body, modelId, true);
  if (!ok) return;
  const { request, tokenizer } = ok;
  const answer = planAnswer(request, call.providers.signer, tokenizer);
  if (answer.failWith) return sendBedrockError(call.res, answer.failWith);
  const input = call.providers.claudeCache.use(modelId, promptSegments(request, tokenizer));
  const id = claudeId("msg_bdrk");
  const model = claudeName(modelId);
  const counts = {
    "x-amzn-bedrock-input-token-count": String(input.uncached),
    "x-amzn-bedrock-output-token-count": String(answer.outputTokens),
    "x-amzn-bedrock-cache-read-input-token-count": String(input.read),
    "x-amzn-bedrock-cache-write-input-token-count": String(input.write5m + input.write1h),
  };
  if (!stream) {
    const body = JSON.stringify(claudeMessage(id, model, answer, input));
    call.res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "x-amzn-requestid": randomUUID(),
      "x-amzn-bedrock-invocation-latency": String(Date.now() - started),
      ...counts,
    });
    call.res.end(body);
    return;
  }
  call.res.writeHead(200, {
    "content-type": "application/vnd.amazon.eventstream",
    "x-amzn-bedrock-content-type": "application/json",
    "x-amzn-requestid": randomUUID(),
  });
  const events = claudeEvents(id, model, answer, input);
  if (call.fault.omitUsage) withoutEventUsage(events);
  const last = events.at(-1);
  if (last) {
    last["amazon-bedrock-invocationMetrics"] = {
      inputTokenCount: input.uncached,
      outputTokenCount: answer.outputTokens,
      invocationLatency: Date.now() - started,
      firstByteLatency: Date.now() - started,
      cacheReadInputTokenCount: input.read,
      cacheWriteInputTokenCount: input.write5m + input.write1h,
    };
  }
  const { events: sent, fault } = withStreamFault(events, answer, call.fault, "");
  const frames = sent.map((event) =>
    event.type === "error" ? exceptionFrame(call.fault) : chunkFrame(JSON.stringify(event)),
  );
  const { pieces, eventFault } = inPieces(frames, fault);
  if (await writeChunks(call.res, pieces, eventFault, call.state)) call.res.end();
}

/** The events without their `usage` (message_start's and message_delta's). */
function withoutEventUsage(events: Record<string, unknown>[]): void {
  for (const event of events) {
    delete event.usage;
    const message = event.message;
    if (isObject(message)) delete message.usage;
  }
}

function chunkFrame(eventJson: string): Uint8Array {
  // Bedrock pads each payload with `p` so that sizes do not reveal the text.
  const padding = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".slice(
    0,
    1 + randomInt(40),
  );
  return codec.encode({
    headers: {
      ":event-type": { type: "string", value: "chunk" },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    body: new TextEncoder().encode(
      JSON.stringify({ bytes: Buffer.from(eventJson).toString("base64"), p: padding }),
    ),
  });
}

function exceptionFrame(fault: UpstreamFault): Uint8Array {
  const type = fault.errorType ?? "serviceUnavailableException";
  return codec.encode({
    headers: {
      ":exception-type": { type: "string", value: type },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" },
    },
    body: new TextEncoder().encode(
      JSON.stringify({ message: fault.message ?? "Bedrock is unable to process your request." }),
    ),
  });
}

/**
 * The frames cut into random pieces (frames straddle TCP writes, as they do on the wire), and
 * the fault restated in pieces: `cutAfterChunks` and `pauseAfterChunks` count events.
 */
function inPieces(frames: Uint8Array[], fault: UpstreamFault) {
  const pieces: Uint8Array[] = [];
  const endOf: number[] = [];
  const all = Buffer.concat(frames);
  let at = 0;
  for (const frame of frames) {
    at += frame.length;
    endOf.push(at);
  }
  // With a fault counted in events, each event ends a piece, so that the count stays exact.
  const counted = fault.cutAfterChunks !== undefined || fault.pauseAfterChunks !== undefined;
  const piecesAt: number[] = [];
  for (let from = 0; from < all.length; ) {
    const to = Math.min(all.length, from + 1 + randomInt(200));
    const next = counted ? (endOf.find((end) => end > from && end < to) ?? to) : to;
    pieces.push(all.subarray(from, next));
    from = next;
    piecesAt.push(from);
  }
  const piecesThrough = (events: number | undefined) =>
    events === undefined
      ? undefined
      : events === 0
        ? 0
        : piecesAt.indexOf(endOf[events - 1] ?? all.length) + 1;
  const eventFault: UpstreamFault = {
    ...fault,
    cutAfterChunks: piecesThrough(fault.cutAfterChunks),
    pauseAfterChunks: piecesThrough(fault.pauseAfterChunks),
  };
  return { pieces, eventFault };
}

/** count-tokens: the InvokeModel body, base64, under input.invokeModel.body → {inputTokens}. */
async function countTokens(call: Call, modelId: string): Promise<void> {
  const input = isObject(call.body) && isObject(call.body.input) ? call.body.input : undefined;
  const encoded = isObject(input?.invokeModel) ? input.invokeModel.body : undefined;
  if (typeof encoded !== "string") {
    return sendBedrockError(
      call.res,
      400,
      "ValidationException",
      "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null",
    );
  }
  // Only base model ids count tokens; inference profiles are refused (AWS CountTokens docs).
  if (/^(?:[a-z]{2,6}\.)anthropic\.|^arn:/.test(modelId)) {
    return sendBedrockError(
      call.res,
      400,
      "ValidationException",
      "The provided model doesn't support counting tokens.",
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(encoded, "base64").toString("utf8"));
  } catch {
    return sendBedrockError(call.res, 400);
  }
  const ok = await checked(call, body, modelId, true);
  if (!ok) return;
  const tokens = promptTokens(promptSegments(ok.request, ok.tokenizer));
  const text = JSON.stringify({ inputTokens: tokens });
  call.res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": randomUUID(),
  });
  call.res.end(text);
}
