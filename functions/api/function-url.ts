import { Readable } from "node:stream";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import {
  type GatewayRequest,
  type GatewayResponse,
  isStreamBody,
  type RequestContext,
} from "../../shared/http/types";

const EMPTY = new Uint8Array(0);

/** A function URL event (payload format 2.0) as the core's plain request. */
export function toGatewayRequest(
  event: LambdaFunctionURLEvent,
  receivedAt: number,
  signal?: AbortSignal,
): GatewayRequest {
  const headers: Record<string, string | undefined> = { ...event.headers };
  // Function URLs move the Cookie header into `cookies`; put it back for completeness.
  if (event.cookies?.length) headers.cookie = event.cookies.join("; ");
  return {
    id: `req_${event.requestContext.requestId.replaceAll("-", "")}`,
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: new URLSearchParams(event.rawQueryString),
    headers,
    body: event.body ? Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8") : EMPTY,
    receivedAt,
    signal,
  };
}

/** What middy's streamifyResponse pipes to the function URL: prelude fields and a stream body. */
export interface StreamingResult {
  statusCode: number;
  headers: Record<string, string>;
  body: Readable;
}

/**
 * Turns a core response into middy's streaming result, and a promise that settles once its
 * body stream has closed: read to the end, or destroyed because the client went away (the
 * relay has then finished and registered its settlement).
 */
export function toStreamingResult(response: GatewayResponse): {
  result: StreamingResult;
  closed: Promise<void>;
} {
  const body = toReadable(response.body);
  const closed = new Promise<void>((resolve) => body.once("close", () => resolve()));
  return { result: { statusCode: response.status, headers: response.headers, body }, closed };
}

function toReadable(body: GatewayResponse["body"]): Readable {
  if (typeof body === "string") return Readable.from([Buffer.from(body)]);
  if (isStreamBody(body)) return Readable.from(body, { objectMode: false });
  return Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
}

/** Collects a request's after-response tasks and runs them, once, when asked. */
export class AfterResponseTasks implements RequestContext {
  private readonly tasks: (() => Promise<unknown>)[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly requestId: string) {}

  afterResponse(task: () => Promise<unknown>): void {
    this.tasks.push(task);
  }

  /** Runs the tasks; later calls wait for the same run. A failing task is logged, not thrown. */
  run(): Promise<void> {
    this.running ??= this.runAll();
    return this.running;
  }

  private async runAll(): Promise<void> {
    const results = await Promise.allSettled(this.tasks.map((task) => task()));
    for (const result of results) {
      if (result.status === "rejected") {
        const error =
          result.reason instanceof Error
            ? (result.reason.stack ?? result.reason.message)
            : String(result.reason);
        console.error(
          JSON.stringify({
            level: "error",
            msg: "after-response task failed",
            requestId: this.requestId,
            error,
          }),
        );
      }
    }
  }
}

/**
 * Aborts when the invocation has only `keepMs` left: a response still streaming then is
 * ended by sluice (an error event, what was delivered billed) rather than cut off by Lambda
 * with its hold unsettled.
 */
export function timeLimit(
  remainingMs: number,
  keepMs: number,
): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const limitMs = Math.max(remainingMs - keepMs, 0);
  const timer = setTimeout(() => {
    controller.abort(
      new Error(
        `The response reached sluice's time limit of ${Math.round(limitMs / 1000)} s and is incomplete.`,
      ),
    );
  }, limitMs);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
