import type { KeyPrincipal } from "../auth/authenticate";
import { checkKeyUsable } from "../auth/authenticate";
import { randomString } from "../auth/secrets";
import { ModelUnavailable, UpstreamRejected } from "../errors";
import { errorResponse } from "../http/dispatch";
import type { Route } from "../http/route";
import { Timing } from "../http/timing";
import {
  type GatewayRequest,
  type GatewayResponse,
  isStreamBody,
  type RequestContext,
} from "../http/types";
import { createChatCompletion } from "../openai/chat-completions";
import { createCompletion } from "../openai/completions";
import { createEmbedding } from "../openai/embeddings";
import type { Services } from "../services";
import type { BatchRecord, LineResult } from "../store/batches";
import type { BatchLine } from "./validate";

/** The API routes batch lines go through: the same code as a call over HTTP. */
const LINE_ROUTES: Record<string, Route> = {
  "/v1/chat/completions": createChatCompletion,
  "/v1/completions": createCompletion,
  "/v1/embeddings": createEmbedding,
};

/**
 * A line that ran: its result, the work (settlement) to do once it is recorded, and what
 * to do instead when it is not (give its holds back: the line will run again or ran already).
 */
export interface RanLine {
  result: LineResult;
  afterRecorded: () => Promise<void>;
  notRecorded: () => Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs one batch line through the API's own route handler, billed to the key that created
 * the batch at the batch discount (never an HTTP call to sluice itself). "rate_limited" when
 * every upstream said 429, or no channel can serve the model right now (cooling down, circuits
 * open): the line has to wait, it has not failed. "deferred" when `signal`
 * aborted it (the worker is out of time): it did not run and will run again.
 */
export async function runLine(
  services: Services,
  principal: KeyPrincipal,
  batch: BatchRecord,
  chunk: number,
  line: BatchLine,
  signal?: AbortSignal,
): Promise<RanLine | "rate_limited" | "deferred"> {
  const request: GatewayRequest = {
    id: `req_${randomString(24)}`,
    method: "POST",
    path: batch.endpoint,
    query: new URLSearchParams(),
    headers: { "content-type": "application/json" },
    body: encoder.encode(JSON.stringify(line.body)),
    receivedAt: performance.now(),
    signal,
  };
  const tasks: ((delivered: boolean) => Promise<unknown>)[] = [];
  const context: RequestContext = { afterResponse: (task) => tasks.push(task) };
  const route = LINE_ROUTES[batch.endpoint];
  let response: GatewayResponse;
  let rateLimited = false;
  try {
    if (route?.auth !== "apiKey") throw new Error(`batches cannot run ${batch.endpoint}`);
    checkKeyUsable(principal, services.clock.seconds());
    response = await route.handle({
      request,
      params: {},
      principal,
      services,
      context,
      timing: new Timing(request.receivedAt),
      batchId: batch.id,
    });
  } catch (err) {
    rateLimited =
      (err instanceof UpstreamRejected && err.kind === "rate_limited") ||
      (err instanceof ModelUnavailable && err.retryAfterSeconds !== undefined);
    response = errorResponse(err, request, services.log, route?.envelope);
  }
  const body = parseBody(await bodyText(response));
  // Settles the line's charge when its result was kept, gives its hold back when it was not.
  const runTasks = async (delivered: boolean) => {
    await Promise.all(tasks.map((task) => task(delivered)));
  };
  if (signal?.aborted) {
    await runTasks(false);
    return "deferred";
  }
  if (rateLimited) {
    await runTasks(true);
    return "rate_limited";
  }
  const ok = response.status === 200;
  const usage = ok ? (body?.usage ?? {}) : {};
  return {
    result: {
      batchId: batch.id,
      chunk,
      line: line.line,
      customId: line.customId,
      ok,
      output: JSON.stringify({
        id: `batch_req_${randomString(24)}`,
        custom_id: line.customId,
        response: { status_code: response.status, request_id: request.id, body },
        error: null,
      }),
      inputTokens: Number(usage.prompt_tokens ?? 0),
      outputTokens: Number(usage.completion_tokens ?? 0),
    },
    afterRecorded: () => runTasks(true),
    notRecorded: () => runTasks(false),
  };
}

async function bodyText(response: GatewayResponse): Promise<string> {
  const { body } = response;
  if (typeof body === "string") return body;
  if (!isStreamBody(body)) return decoder.decode(body);
  let text = "";
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

// biome-ignore lint/suspicious/noExplicitAny: an upstream's JSON answer, passed on as it is.
function parseBody(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return {
      error: {
        message: "The upstream answer was not JSON.",
        type: "upstream_error",
        param: null,
        code: null,
      },
    };
  }
}
