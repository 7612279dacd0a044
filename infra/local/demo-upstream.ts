import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { anthropicRoute, checkAnthropicAuth, failAnthropic } from "./demo-upstream/anthropic";
import {
  AZURE_OPERATIONS,
  AZURE_V1_OPERATIONS,
  azurePath,
  azureV1Path,
  checkAzureAuth,
  sendAzureNotFound,
  withDeployment,
} from "./demo-upstream/azure";
import { azureSpeech, checkSpeechKey } from "./demo-upstream/azure-speech";
import { bedrockRoute, checkBedrockCaller, failBedrock } from "./demo-upstream/bedrock";
import { chatCompletions } from "./demo-upstream/chat";
import { sleep } from "./demo-upstream/common";
import { completions } from "./demo-upstream/completions";
import { checkDeepSeekAuth, deepseekRoute, failDeepSeek } from "./demo-upstream/deepseek";
import { edits } from "./demo-upstream/edits";
import { embeddings } from "./demo-upstream/embeddings";
import {
  type Call,
  checkBearer,
  type Handler,
  parseBody,
  readAll,
  sendError,
} from "./demo-upstream/http";
import { imageGenerations, serveImage } from "./demo-upstream/images";
import { DEMO_MODELS, listModels } from "./demo-upstream/models";
import { moderations } from "./demo-upstream/moderations";
import { type Form, parseMultipart, recordedForm } from "./demo-upstream/multipart";
import { PromptCache } from "./demo-upstream/prompt-cache";
import { type ProviderOptions, providerState } from "./demo-upstream/providers";
import { countInputTokens, createResponse, storedResponseRoute } from "./demo-upstream/responses";
import { speech } from "./demo-upstream/speech";
import { transcriptions, translations } from "./demo-upstream/transcriptions";

export { parseSsml } from "./demo-upstream/azure-speech";
export { demoTokens } from "./demo-upstream/common";
export type { RecordedForm } from "./demo-upstream/multipart";
export {
  BEDROCK_DEMO_API_KEY,
  BEDROCK_DEMO_CREDENTIALS,
  BEDROCK_MODELS,
  CLAUDE_MODELS,
  DEEPSEEK_MODELS,
} from "./demo-upstream/providers";
export { wavDuration, wavFile } from "./demo-upstream/wav";
export { DEMO_MODELS };

/**
 * A small OpenAI-compatible model server that answers deterministically. `npm start` uses
 * it when no real upstream is configured, the tests use it as their upstream fixture, and
 * the benchmarks as a fixed-latency upstream. Faults can be queued to make it slow, fail,
 * pause or cut a stream.
 *
 * It speaks every endpoint sluice relays, each in its own file under ./demo-upstream/:
 * OpenAI's /v1 API, the same operations on Azure OpenAI's deployment paths, Azure Speech's
 * text to speech, Anthropic's Messages API (anthropic.ts), Claude on Bedrock's runtime API
 * (bedrock.ts, /model/…) and DeepSeek's chat API (deepseek.ts, under /deepseek). This file is
 * the server: it records each request, applies the queued fault and the auth check, and hands
 * the request to the endpoint's handler.
 */

export interface UpstreamFault {
  /** Answer with this HTTP status and an OpenAI error body. */
  status?: number;
  /** The error message to send with `status`. */
  message?: string;
  /** The OpenAI error's `code` and `param` with `status` (e.g. `model_not_found`). */
  code?: string;
  param?: string;
  /** Headers to send with `status`, e.g. Retry-After. */
  headers?: Record<string, string>;
  /** Wait this long before the response headers. */
  delayMs?: number;
  /** Wait this long between stream chunks (SSE events, or audio chunks). */
  chunkDelayMs?: number;
  /** After this many stream chunks, stop until `resume` settles. */
  pauseAfterChunks?: number;
  resume?: Promise<unknown>;
  /**
   * Drop the connection after this many stream chunks, without [DONE]; after the pause when
   * `pauseAfterChunks` is the same number.
   */
  cutAfterChunks?: number;
  /** Leave usage out of the response, as some OpenAI-compatible servers do. */
  omitUsage?: boolean;
  /**
   * Report this usage instead of the real one (an upstream that over-reports, or one with
   * details: `prompt_tokens_details`, `completion_tokens_details`).
   */
  usage?: { prompt_tokens: number; completion_tokens: number; [detail: string]: unknown };
  /** The reply text (chat, completions, edits, transcripts). */
  reply?: string;
  /**
   * Anthropic and Bedrock streams: after this many events, the provider's mid-stream error
   * (Anthropic's `event: error`, a Bedrock exception frame) and the end of the stream.
   */
  errorAfterChunks?: number;
  /**
   * The provider's name for the error of `status` or `errorAfterChunks`: Anthropic's
   * `error.type`, Bedrock's exception (`ThrottlingException`, `modelStreamErrorException`).
   * By default it follows the status (Anthropic: overloaded_error mid-stream).
   */
  errorType?: string;
  /**
   * Answer 200 with this body as it is, `text/html`: what a misbehaving host or a proxy in
   * front of it (a captive portal, a CDN's page) sends in place of the API's answer.
   */
  rawBody?: string;
}

export interface RecordedRequest {
  method: string;
  /** The path with its query string. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /**
   * Parsed JSON; for multipart/form-data a `RecordedForm` (fields, and files by size); for
   * SSML and other text the text; otherwise the bytes.
   */
  body: unknown;
  /** The body's bytes exactly as received (for byte-for-byte pass-through checks). */
  raw: Buffer;
}

export interface DemoUpstream {
  /** Base URL of the OpenAI API, ending in /v1. */
  baseUrl: string;
  /** The server's origin (http://127.0.0.1:<port>): the base URL for Azure channels. */
  origin: string;
  models: string[];
  requests: RecordedRequest[];
  /** Faults for the next requests, one per request, in order. */
  enqueue(...faults: UpstreamFault[]): void;
  /** Drops the queued faults no request has taken yet. */
  clearFaults(): void;
  /** True while a stream is held by `pauseAfterChunks`. */
  readonly paused: boolean;
  /** Responses the caller hung up on before they were complete. */
  readonly abandoned: number;
  close(): Promise<void>;
}

export interface DemoUpstreamOptions extends ProviderOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  models?: string[];
  /** Added before every answer. */
  latencyMs?: number;
  /** When set, every request must carry it (as Bearer, `api-key` or the Speech key). */
  apiKey?: string;
}

/** OpenAI's endpoints, by method and path. Azure paths map onto the POST ones. */
const OPENAI_ROUTES: Record<string, Handler> = {
  "GET /v1/models": listModels,
  "POST /v1/chat/completions": chatCompletions,
  "POST /v1/completions": completions,
  "POST /v1/edits": edits,
  "POST /v1/embeddings": embeddings,
  "POST /v1/images/generations": imageGenerations,
  "POST /v1/audio/transcriptions": transcriptions,
  "POST /v1/audio/translations": translations,
  "POST /v1/audio/speech": speech,
  "POST /v1/moderations": moderations,
  "POST /v1/responses": createResponse,
  "POST /v1/responses/input_tokens": countInputTokens,
};

type Auth = (call: Call, apiKey: string | undefined) => boolean | Promise<boolean>;

interface Route {
  handler: Handler | undefined;
  auth: Auth;
  /** Answers a queued fault's status in the provider's error envelope (OpenAI's by default). */
  fail?: (call: Call, status: number) => void;
}

/** Which handler answers, and how the caller must authenticate. */
function route(method: string, url: URL, headers: IncomingHttpHeaders): Route {
  const anthropic = anthropicRoute(method, url, headers);
  if (anthropic) return { handler: anthropic, auth: checkAnthropicAuth, fail: failAnthropic };
  const bedrock = bedrockRoute(method, url);
  if (bedrock) return { handler: bedrock, auth: checkBedrockCaller, fail: failBedrock };
  const deepseek = deepseekRoute(method, url);
  if (deepseek) return { handler: deepseek, auth: checkDeepSeekAuth, fail: failDeepSeek };
  const azure = azurePath(url.pathname);
  if (azure) {
    const handler = OPENAI_ROUTES[`POST /v1/${azure.operation}`];
    const served = method === "POST" && AZURE_OPERATIONS.includes(azure.operation) && handler;
    return {
      handler: served
        ? (call) => handler(withDeployment(call, azure.deployment))
        : sendAzureNotFound,
      auth: checkAzureAuth,
    };
  }
  const v1 = azureV1Path(url.pathname);
  if (v1 !== undefined) {
    // Stored responses, as at OpenAI: /openai/v1/responses/{id}, …/input_items, …/cancel.
    const stored = storedResponseRoute(method, `/v1/${v1}`);
    if (stored) return { handler: stored, auth: checkAzureAuth };
    const handler = OPENAI_ROUTES[`POST /v1/${v1}`];
    const served = method === "POST" && AZURE_V1_OPERATIONS.includes(v1) && handler;
    return { handler: served || sendAzureNotFound, auth: checkAzureAuth };
  }
  if (method === "POST" && url.pathname === "/cognitiveservices/v1") {
    return { handler: azureSpeech, auth: checkSpeechKey };
  }
  const stored = storedResponseRoute(method, url.pathname);
  return { handler: stored ?? OPENAI_ROUTES[`${method} ${url.pathname}`], auth: checkBearer };
}

export async function startDemoUpstream(options: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  const models = options.models ?? DEMO_MODELS;
  const faults: UpstreamFault[] = [];
  const requests: RecordedRequest[] = [];
  const state = { paused: false, abandoned: 0 };
  const cache = new PromptCache();
  const providers = providerState(options);
  let origin = "";

  const server = createServer(async (req, res) => {
    res.on("close", () => {
      if (!res.writableFinished) state.abandoned++;
    });
    try {
      const method = req.method ?? "GET";
      // Concatenated, not resolved: a path such as //x must not become a host.
      const url = new URL(`${origin}${req.url ?? "/"}`);
      if (method === "GET" && serveImage(res, url.pathname)) return;

      const raw = await readAll(req);
      const contentType = req.headers["content-type"];
      const form = contentType?.startsWith("multipart/form-data")
        ? await tryParseMultipart(raw, contentType)
        : undefined;
      const body = form ? undefined : parseBody(raw, contentType);
      requests.push({
        method,
        path: req.url ?? "/",
        headers: req.headers,
        body: form ? recordedForm(form) : body,
        raw,
      });

      const fault = faults.shift() ?? {};
      const delay = (fault.delayMs ?? 0) + (options.latencyMs ?? 0);
      if (delay > 0) await sleep(delay);
      const call: Call = {
        req,
        res,
        url,
        body,
        raw,
        form,
        fault,
        state,
        cache,
        models,
        origin,
        providers,
      };
      const { handler, auth, fail } = route(method, url, req.headers);
      if (!(await auth(call, options.apiKey))) return;
      if (fault.status) {
        if (fail) return fail(call, fault.status);
        for (const [name, value] of Object.entries(fault.headers ?? {})) res.setHeader(name, value);
        return sendError(
          res,
          fault.status,
          fault.message ?? `Injected failure (${fault.status})`,
          fault.code,
          fault.param,
        );
      }
      if (fault.rawBody !== undefined) {
        res.writeHead(200, { "content-type": "text/html" });
        return void res.end(fault.rawBody);
      }
      if (!handler) return sendError(res, 404, `Invalid URL (${method} ${url.pathname})`);
      await handler(call);
    } catch (err) {
      if (!res.headersSent) sendError(res, 500, String(err));
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${origin}/v1`,
    origin,
    models,
    requests,
    enqueue: (...more) => faults.push(...more),
    clearFaults: () => {
      faults.length = 0;
    },
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

/** A malformed form is recorded as bytes; the audio endpoints then answer 400. */
async function tryParseMultipart(raw: Buffer, contentType: string): Promise<Form | undefined> {
  try {
    return await parseMultipart(raw, contentType);
  } catch {
    return undefined;
  }
}
