import type { IncomingMessage, ServerResponse } from "node:http";
import type { UpstreamFault } from "../demo-upstream";
import type { Form } from "./multipart";
import type { PromptCache } from "./prompt-cache";
import type { Providers } from "./providers";

/** Everything an endpoint handler needs to answer one request. */
export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  /** The parsed JSON body (with `model` set to the deployment on Azure paths), or SSML text. */
  body: unknown;
  /** The body's bytes as received (SigV4 signs them; Bedrock's count-tokens embeds them). */
  raw: Buffer;
  /** The parsed multipart/form-data body, when the request sent one. */
  form: Form | undefined;
  /** The fault queued for this request; `{}` when none. */
  fault: UpstreamFault;
  /** Shared with the server, so that `DemoUpstream.paused` can report a held stream. */
  state: { paused: boolean };
  /** The request URL, on `origin`. */
  url: URL;
  /** Prompts seen before, for cached_tokens (chat completions). */
  cache: PromptCache;
  /** The models GET /v1/models lists. */
  models: string[];
  /** http://127.0.0.1:<port>, for URLs the server hands out (generated images). */
  origin: string;
  /** Anthropic's, Bedrock's and DeepSeek's models, caches and keys (providers.ts). */
  providers: Providers;
}

export type Handler = (call: Call) => Promise<void> | void;

/** The JSON body as an object of unknown fields; `{}` for anything else. */
export function jsonBody<T extends object>(call: Call): Partial<T> {
  const body = call.body;
  return body && typeof body === "object" && !Array.isArray(body) && !Buffer.isBuffer(body)
    ? (body as Partial<T>)
    : {};
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendText(res: ServerResponse, contentType: string, text: string): void {
  res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** OpenAI's error envelope: `{ error: { message, type, param, code } }`. */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  code: string | null = null,
  param: string | null = null,
): void {
  const type =
    status === 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error";
  sendJson(res, status, { error: { message, type, param, code } });
}

/** A status with no body, as Azure Speech answers auth and validation failures. */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { "content-length": 0 });
  res.end();
}

/** OpenAI's own auth: `Authorization: Bearer <key>`. */
export function checkBearer(call: Call, apiKey: string | undefined): boolean {
  if (!apiKey || call.req.headers.authorization === `Bearer ${apiKey}`) return true;
  sendError(call.res, 401, "Incorrect API key provided.", "invalid_api_key");
  return false;
}

export async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** JSON when it says so, text for SSML and other text, the bytes otherwise. */
export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  if (contentType?.includes("json")) {
    try {
      return JSON.parse(raw.toString("utf8"));
    } catch {
      return raw.toString("utf8");
    }
  }
  if (contentType?.startsWith("text/") || contentType?.includes("xml")) {
    return raw.toString("utf8");
  }
  return raw;
}
