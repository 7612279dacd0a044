import { timingSafeEqual } from "node:crypto";
import { validateHeaderName, validateHeaderValue } from "node:http";
import { isIP } from "node:net";
import type { Writable } from "node:stream";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context, LambdaFunctionURLEvent, StreamifyHandler } from "aws-lambda";
import { runAfterCallWork } from "../../shared/after-call";
import { createApi } from "../../shared/api";
import { ORIGIN_SECRET_HEADER } from "../../shared/config/resources";
import { type Dispatch, errorResponse } from "../../shared/http/dispatch";
import {
  type GatewayRequest,
  type GatewayResponse,
  isStreamBody,
  type RequestContext,
} from "../../shared/http/types";
import { makeRoomFor } from "../../shared/memory";
import { type CallNotes, coldStart, countEvent, recordAccess } from "../../shared/observability";
import type { Services } from "../../shared/services";

const EMPTY = new Uint8Array(0);

/** What the edge knows beyond the event: the secret that proves a request came through CloudFront. */
export interface EdgeOptions {
  originSecret?: string;
}

/** A function URL event (payload format 2.0) as the core's plain request. */
export function toGatewayRequest(
  event: LambdaFunctionURLEvent,
  receivedAt: number,
  signal?: AbortSignal,
  edge: EdgeOptions = {},
): GatewayRequest {
  const headers: Record<string, string | undefined> = { ...event.headers };
  // Function URLs move the Cookie header into `cookies`; put it back for completeness.
  if (event.cookies?.length) headers.cookie = event.cookies.join("; ");
  // The secret goes no further than here (not into logs, not upstream).
  delete headers[ORIGIN_SECRET_HEADER];
  // Text only when it is well-formed: a lone surrogate becomes U+FFFD in the bytes, and what
  // is checked must be what is passed through.
  const text =
    event.body && !event.isBase64Encoded && event.body.isWellFormed() ? event.body : undefined;
  let bytes: Uint8Array | undefined;
  return {
    id: `req_${event.requestContext.requestId.replaceAll("-", "")}`,
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: new URLSearchParams(event.rawQueryString),
    headers,
    // Made when first read: a JSON route reads `text` only, and a copy of a large body is
    // memory that a 128 MB function has little of.
    get body() {
      bytes ??= event.body
        ? Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8")
        : EMPTY;
      return bytes;
    },
    text,
    receivedAt,
    signal,
    sourceIp: clientAddress(event, edge.originSecret),
  };
}

/**
 * The client's address. Behind sluice's CloudFront distribution the function URL sees an edge
 * server's address; the viewer's is in CloudFront-Viewer-Address, which is believed only when
 * the request carries the origin secret (which CloudFront sets, overwriting any a viewer
 * sends): anyone may call the function URL directly and send that header themselves.
 */
export function clientAddress(event: LambdaFunctionURLEvent, originSecret?: string): string {
  const connected = event.requestContext.http.sourceIp;
  const sent = event.headers?.[ORIGIN_SECRET_HEADER];
  if (!originSecret || sent === undefined || !sameSecret(sent, originSecret)) return connected;
  return viewerIp(event.headers["cloudfront-viewer-address"]) ?? connected;
}

/** The address of CloudFront-Viewer-Address, `198.51.100.10:46532` or `2001:db8::1:46532`. */
export function viewerIp(header: string | undefined): string | undefined {
  const ip = /^\[?(.+?)\]?:\d+$/.exec(header ?? "")?.[1];
  return ip && isIP(ip) ? ip : undefined;
}

function sameSecret(sent: string, expected: string): boolean {
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Kept back from the function's timeout to end a response cleanly and settle it. */
const SETTLE_MS = 15_000;

/** The API function on its services (functions/api/handler.ts, and the local stack's). */
export function apiHandler(services: Services): StreamifyHandler<LambdaFunctionURLEvent> {
  return streamingHandler(createApi(services), {
    log: services.log,
    edge: services.settings.edge,
    accessLogSample: services.settings.log.accessSample,
  });
}

/** What the handler is given besides the core: the function's Logger and settings. */
export interface StreamingOptions {
  log: Logger;
  edge?: EdgeOptions;
  /** The share of successful calls whose access line is written (settings.log.accessSample). */
  accessLogSample?: number;
}

/**
 * The function URL handler (InvokeMode RESPONSE_STREAM) around the core: the event becomes a
 * plain request, the response's prelude (status, headers) and body are written to the
 * response stream as the body is made, and the invocation ends only after the after-response
 * tasks (settlement, logs) have run — once the body was read to its end or torn down because
 * the client went away — so Lambda cannot freeze it with a hold unsettled. The function's time
 * limit (`request.signal`, SETTLE_MS before the end) holds for the tasks too.
 */
export function streamingHandler(
  api: Dispatch,
  { log, edge = {}, accessLogSample = 1 }: StreamingOptions,
): StreamifyHandler<LambdaFunctionURLEvent> {
  return awslambda.streamifyResponse(
    async (event: LambdaFunctionURLEvent, responseStream, context: Context) => {
      const receivedAt = performance.now();
      // Before the time limit is read: a collection here is part of the call's time.
      await makeRoomFor(event.body?.length ?? 0);
      const limit = timeLimit(context.getRemainingTimeInMillis(), SETTLE_MS);
      const request = toGatewayRequest(event, receivedAt, limit.signal, edge);
      const tasks = new AfterResponseTasks(request.id, log);
      let status = 500;
      let firstByteAt: number | undefined;
      try {
        const response = sendable(await api(request, tasks), request, log);
        status = response.status;
        const out = awslambda.HttpResponseStream.from(responseStream, {
          statusCode: response.status,
          headers: response.headers,
          ...(response.cookies?.length ? { cookies: response.cookies } : {}),
        });
        await sendBody(response.body, out, () => {
          firstByteAt ??= performance.now();
        });
      } finally {
        // The time limit stays armed while the tasks run: a call still waiting for a late
        // upstream answer (shared/relay/relay.ts) stops then, and is settled in time.
        await tasks.run();
        limit.clear();
        recordAccess(
          log,
          {
            requestId: request.id,
            method: request.method,
            path: request.path,
            status,
            firstByteMs: firstByteAt === undefined ? undefined : firstByteAt - request.receivedAt,
            totalMs: performance.now() - request.receivedAt,
            notes: tasks.notes,
            lambdaRequestId: context.awsRequestId,
            coldStart: coldStart.take(),
          },
          accessLogSample,
        );
        // Caches refreshing behind stale values, held back until the call had answered.
        await runAfterCallWork();
      }
    },
  );
}

/**
 * The response, or a 500 in its API's envelope when a header could not be sent (a raw
 * non-Latin-1 value, a CR or LF): the runtime would fail the whole invocation on it. The
 * refused response's body is torn down, so a relay behind it ends and settles.
 */
export function sendable(
  response: GatewayResponse,
  request: GatewayRequest,
  log: Logger,
): GatewayResponse {
  try {
    for (const [name, value] of Object.entries(response.headers)) {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    }
    for (const cookie of response.cookies ?? []) validateHeaderValue("set-cookie", cookie);
    return response;
  } catch (err) {
    void discard(response.body);
    const refused = errorResponse(err, request, log);
    refused.headers["x-request-id"] = request.id;
    return refused;
  }
}

/**
 * Writes a response's body to the response stream, chunk by chunk as a stream body makes them,
 * waiting while the stream is full, and ends it: what `pipeline(Readable.from(body), out)` did,
 * without the streams between, which cost a call's CPU. A client that goes away (the stream
 * errors, or closes before it finished) has the error thrown into the body at once, and then
 * its end asked for, even while it waits for the upstream (a relay's iterator aborts it then):
 * the relay ends there and registers its settlement before this returns. A body that fails
 * destroys the stream with its error.
 */
export async function sendBody(
  body: GatewayResponse["body"],
  out: Writable,
  firstByte: () => void,
): Promise<void> {
  const chunks = isStreamBody(body) ? body[Symbol.asyncIterator]() : undefined;
  let gone: Error | undefined;
  let wake: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  const close = (err: Error) => {
    closing ??= (async () => {
      try {
        const after = await chunks?.throw?.(err);
        if (after && !after.done) await chunks?.return?.();
      } catch {
        // The body's own ending of the error: nobody is left to tell.
      }
    })();
    return closing;
  };
  const leave = (err?: Error) => {
    if (gone) return;
    gone = err ?? new Error("the client went away before the response ended");
    void close(gone);
    wake?.();
  };
  out.on("error", leave);
  out.on("close", () => {
    if (!out.writableFinished) leave();
  });
  const until = (event: "drain" | "finish") =>
    new Promise<void>((resolve) => {
      if (gone || (event === "finish" && out.writableFinished)) return resolve();
      wake = resolve;
      out.once(event, resolve);
    });
  if (!chunks) {
    firstByte();
    out.end(typeof body === "string" ? Buffer.from(body) : body);
    return until("finish");
  }
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done || gone) break;
      firstByte();
      if (!out.write(next.value)) await until("drain");
      if (gone) break;
    }
  } catch (err) {
    if (!gone) {
      out.destroy(err as Error);
      return;
    }
  }
  if (gone) return close(gone);
  out.end();
  return until("finish");
}

/** A refused response's body, torn down: a relay behind it ends and settles. */
async function discard(body: GatewayResponse["body"]): Promise<void> {
  if (!isStreamBody(body)) return;
  await body[Symbol.asyncIterator]()
    .return?.()
    .catch(() => {});
}

/** Collects a request's after-response tasks and runs them, once, when asked. */
export class AfterResponseTasks implements RequestContext {
  private readonly tasks: ((delivered: boolean) => Promise<unknown>)[] = [];
  private running: Promise<void> | undefined;
  /** What the route noted for the access line. */
  readonly notes: CallNotes = {};

  constructor(
    private readonly requestId: string,
    private readonly log: Logger,
  ) {}

  afterResponse(task: (delivered: boolean) => Promise<unknown>): void {
    this.tasks.push(task);
  }

  note(notes: CallNotes): void {
    Object.assign(this.notes, notes);
  }

  /** Runs the tasks; later calls wait for the same run. A failing task is logged, not thrown. */
  run(): Promise<void> {
    this.running ??= this.runAll();
    return this.running;
  }

  private async runAll(): Promise<void> {
    // A response over HTTP is always delivered, however far the client read it.
    const results = await Promise.allSettled(this.tasks.map((task) => task(true)));
    for (const result of results) {
      if (result.status === "rejected") {
        const error =
          result.reason instanceof Error
            ? (result.reason.stack ?? result.reason.message)
            : String(result.reason);
        this.log.error("after-response task failed", { requestId: this.requestId, error });
        countEvent("SettlementsFailed");
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
