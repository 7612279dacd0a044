import type { KeyPrincipal } from "../auth/authenticate";
import { checkKeyUsable } from "../auth/authenticate";
import { randomString } from "../auth/secrets";
import { errorResponse } from "../http/dispatch";
import type { Route } from "../http/route";
import { Timing } from "../http/timing";
import { type GatewayRequest, type GatewayResponse, isStreamBody } from "../http/types";
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

/** A line that ran: its result, and the work (settlement) to do once it is recorded. */
export interface RanLine {
  result: LineResult;
  afterRecorded: () => Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs one batch line through the API's own route handler, billed to the key that created
 * the batch at the batch discount (never an HTTP call to sluice itself). "rate_limited" when
 * every upstream said 429: the line has to wait, it has not failed.
 */
export async function runLine(
  services: Services,
  principal: KeyPrincipal,
  batch: BatchRecord,
  chunk: number,
  line: BatchLine,
): Promise<RanLine | "rate_limited"> {
  const request: GatewayRequest = {
    id: `req_${randomString(24)}`,
    method: "POST",
    path: batch.endpoint,
    query: new URLSearchParams(),
    headers: { "content-type": "application/json" },
    body: encoder.encode(JSON.stringify(line.body)),
    receivedAt: performance.now(),
  };
  const tasks: (() => Promise<unknown>)[] = [];
  const route = LINE_ROUTES[batch.endpoint];
  let response: GatewayResponse;
  try {
    if (route?.auth !== "apiKey") throw new Error(`batches cannot run ${batch.endpoint}`);
    checkKeyUsable(principal, Math.floor(Date.now() / 1000));
    response = await route.handle({
      request,
      params: {},
      principal,
      services,
      context: { afterResponse: (task) => tasks.push(task) },
      timing: new Timing(request.receivedAt),
      batchId: batch.id,
    });
  } catch (err) {
    response = errorResponse(err, request);
  }
  const body = parseBody(await bodyText(response));
  const runTasks = async () => {
    await Promise.all(tasks.map((task) => task()));
  };
  if (response.status === 429 && body?.error?.code === "rate_limit_exceeded") {
    await runTasks();
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
    afterRecorded: runTasks,
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
