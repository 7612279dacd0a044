import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small OpenAI-compatible model server that answers deterministically. `npm start` uses
 * it when no real upstream is configured, the tests use it as their upstream fixture, and
 * the benchmarks as a fixed-latency upstream. Faults can be queued to make it slow, fail,
 * pause or cut a stream.
 */

export interface UpstreamFault {
  /** Answer with this HTTP status and an OpenAI error body. */
  status?: number;
  /** The error message to send with `status`. */
  message?: string;
  /** Wait this long before the response headers. */
  delayMs?: number;
  /** Wait this long between stream chunks. */
  chunkDelayMs?: number;
  /** After this many stream chunks, stop until `resume` settles. */
  pauseAfterChunks?: number;
  resume?: Promise<unknown>;
  /** Drop the connection after this many stream chunks, without [DONE]. */
  cutAfterChunks?: number;
  /** Leave usage out of the response, as some OpenAI-compatible servers do. */
  omitUsage?: boolean;
  /** The assistant's reply. */
  reply?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface DemoUpstream {
  /** Base URL of the OpenAI API, ending in /v1. */
  baseUrl: string;
  models: string[];
  requests: RecordedRequest[];
  /** Faults for the next requests, one per request, in order. */
  enqueue(...faults: UpstreamFault[]): void;
  /** True while a stream is held by `pauseAfterChunks`. */
  readonly paused: boolean;
  /** Responses the caller hung up on before they were complete. */
  readonly abandoned: number;
  close(): Promise<void>;
}

export const DEMO_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-3.5-turbo"];

export async function startDemoUpstream(
  options: { port?: number; models?: string[]; latencyMs?: number; apiKey?: string } = {},
): Promise<DemoUpstream> {
  const models = options.models ?? DEMO_MODELS;
  const faults: UpstreamFault[] = [];
  const requests: RecordedRequest[] = [];
  const state = { paused: false, abandoned: 0 };

  const server = createServer(async (req, res) => {
    res.on("close", () => {
      if (!res.writableFinished) state.abandoned++;
    });
    try {
      const raw = await readAll(req);
      const body = parseBody(raw, req.headers["content-type"]);
      requests.push({
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: req.headers,
        body,
      });
      const fault = faults.shift() ?? {};
      const delay = (fault.delayMs ?? 0) + (options.latencyMs ?? 0);
      if (delay > 0) await sleep(delay);
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return sendError(res, 401, "Incorrect API key provided.", "invalid_api_key");
      }
      if (fault.status)
        return sendError(res, fault.status, fault.message ?? `Injected failure (${fault.status})`);
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/v1/models") {
        return sendJson(res, 200, {
          object: "list",
          data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "demo" })),
        });
      }
      if (req.method === "POST" && path === "/v1/chat/completions") {
        return await chatCompletion(res, body as ChatRequest, fault, state);
      }
      sendError(res, 404, `Invalid URL (${req.method} ${path})`);
    } catch (err) {
      if (!res.headersSent) sendError(res, 500, String(err));
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    models,
    requests,
    enqueue: (...more) => faults.push(...more),
    get paused() {
      return state.paused;
    },
    get abandoned() {
      return state.abandoned;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface ChatRequest {
  model?: string;
  messages?: { role?: string; content?: unknown }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
}

/** One token per word (with its leading space): simple, deterministic and easy to check. */
export function demoTokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

function promptText(request: ChatRequest): string {
  return (request.messages ?? [])
    .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? "")))
    .join(" ");
}

async function chatCompletion(
  res: ServerResponse,
  request: ChatRequest,
  fault: UpstreamFault,
  state: { paused: boolean },
): Promise<void> {
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    return sendError(res, 400, "'messages' must contain at least one message.", null, "messages");
  }
  const prompt = promptText(request);
  const lastUser = [...request.messages].reverse().find((m) => m.role === "user");
  const reply =
    fault.reply ??
    `This is sluice's demo upstream. You said: ${typeof lastUser?.content === "string" ? lastUser.content : "…"}`;
  const limit = request.max_completion_tokens ?? request.max_tokens;
  let pieces = demoTokens(reply);
  let finishReason = "stop";
  if (limit !== undefined && pieces.length > limit) {
    pieces = pieces.slice(0, limit);
    finishReason = "length";
  }
  const promptTokens = demoTokens(prompt).length + 3 * request.messages.length;
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: pieces.length,
    total_tokens: promptTokens + pieces.length,
  };
  const id = `chatcmpl-demo${Date.now().toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  const model = request.model ?? "demo";

  if (!request.stream) {
    return sendJson(res, 200, {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: pieces.join(""), refusal: null },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      ...(fault.omitUsage ? {} : { usage }),
    });
  }

  const withUsage = request.stream_options?.include_usage === true && !fault.omitUsage;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices,
    ...(withUsage ? { usage: null } : {}),
    ...extra,
  });
  const events = [
    chunk([
      { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
    ]),
    ...pieces.map((piece) =>
      chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]),
    ),
    chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }]),
    ...(withUsage ? [chunk([], { usage })] : []),
  ];
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let sent = 0;
  for (const event of events) {
    if (fault.cutAfterChunks !== undefined && sent >= fault.cutAfterChunks) {
      // Let what was written reach the client first, then drop the connection.
      await new Promise((resolve) => setTimeout(resolve, 20));
      res.destroy();
      return;
    }
    if (fault.pauseAfterChunks !== undefined && sent === fault.pauseAfterChunks) {
      state.paused = true;
      await fault.resume;
      state.paused = false;
    }
    if (fault.chunkDelayMs && sent > 0) await sleep(fault.chunkDelayMs);
    await new Promise((resolve) => res.write(`data: ${JSON.stringify(event)}\n\n`, resolve));
    sent++;
  }
  res.end("data: [DONE]\n\n");
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function sendError(
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

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  if (contentType?.includes("json")) {
    try {
      return JSON.parse(raw.toString("utf8"));
    } catch {
      return raw.toString("utf8");
    }
  }
  return raw;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
