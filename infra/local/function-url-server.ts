import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { FUNCTION_URL_CORS } from "../../shared/config/resources";
import {
  HTTP_INTEGRATION_CONTENT_TYPE,
  isStreamingHandler,
  LocalResponseStream,
  PreludeDecoder,
  type ResponseSink,
} from "./awslambda";
import { localContext } from "./lambda-context";
import { forTest, standInLogger, TEST_HEADER } from "./logs";

/** Function URLs refuse request payloads over 6 MB. */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;

/** Benchmarks learn when each response's first byte went out. */
export interface ResponseObserver {
  firstByte?(): void;
}

export interface FunctionUrlServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A local Lambda function URL with InvokeMode RESPONSE_STREAM: each HTTP request becomes a
 * payload 2.0 event, the real handler runs with a response stream, and its bytes reach the
 * client as they are written.
 */
export async function startFunctionUrlServer(options: {
  handler: unknown;
  functionName: string;
  port?: number;
  host?: string;
  observer?: ResponseObserver;
  /** The server's own Logger (failures of its own, not the function's). */
  log?: Logger;
}): Promise<FunctionUrlServer> {
  const { handler, functionName } = options;
  if (!isStreamingHandler(handler)) throw new Error("the API handler is not a streaming handler");
  const log = options.log ?? standInLogger("function-url", functionName);
  const server = createServer((req, res) => {
    // A client that drops an upload mid-body rejects the body read: that must not end the
    // server, only this request.
    serve(req, res, handler, { functionName, log, observer: options.observer ?? {} }).catch(
      (err) => {
        if (!res.destroyed) log.error("request failed", err as Error);
        res.destroy();
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  // A port in use rejects with EADDRINUSE, for the caller to explain.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host === "0.0.0.0" ? "127.0.0.1" : (options.host ?? "127.0.0.1")}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  handler: (event: unknown, stream: LocalResponseStream, context: unknown) => Promise<unknown>,
  server: { functionName: string; log: Logger; observer: ResponseObserver },
): Promise<void> {
  const { functionName, log } = server;
  if (req.headers.origin) applyCors(res);
  if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
    res.writeHead(204).end();
    return;
  }
  const body = await readBody(req);
  if (body === "too large") {
    res.writeHead(413, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        Message: `Request must be smaller than ${MAX_REQUEST_BYTES} bytes for the InvokeFunction operation`,
      }),
    );
    return;
  }

  const stream = new LocalResponseStream(httpSink(res, server, req.url));
  // A client that leaves fails the handler's pipeline, which is how the handler learns of it;
  // the stream's own error event has nothing more to say.
  stream.on("error", () => {});
  res.on("close", () => {
    if (!res.writableFinished && !stream.destroyed)
      stream.destroy(new Error("the client closed the connection"));
  });
  const test = req.headers[TEST_HEADER];
  try {
    await forTest(typeof test === "string" ? test : undefined, () =>
      handler(toFunctionUrlEvent(req, body), stream, localContext(functionName)),
    );
  } catch (err) {
    // The client left: nobody is there to answer, and nothing failed on sluice's side.
    if (res.destroyed) return;
    if (!res.headersSent) {
      log.error("the function failed", err as Error);
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ Message: "Internal Server Error" }));
    } else {
      res.destroy();
    }
  }
}

/** Writes a response stream to the HTTP response, decoding the prelude when there is one. */
function httpSink(
  res: ServerResponse,
  { log, observer }: { log: Logger; observer: ResponseObserver },
  url = "/",
): ResponseSink {
  let decoder: PreludeDecoder | undefined;
  let failed = false;
  // Writes made in one turn of the event loop (headers, a body, its end) go out together.
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    res.uncork();
  };
  const writeBody = (chunk: Uint8Array) =>
    new Promise<void>((resolve) => {
      if (chunk.length === 0 || res.destroyed) return resolve();
      if (!corked) {
        corked = true;
        res.cork();
        setImmediate(uncork);
      }
      if (res.write(chunk)) resolve();
      else res.once("drain", resolve);
    });
  return {
    start(contentType) {
      if (contentType === HTTP_INTEGRATION_CONTENT_TYPE) decoder = new PreludeDecoder();
      else {
        res.writeHead(200, { "content-type": contentType });
        observer.firstByte?.();
      }
    },
    async write(chunk) {
      if (!decoder) return writeBody(chunk);
      if (failed) return;
      let rest: Uint8Array | undefined;
      try {
        const hadPrelude = decoder.prelude !== undefined;
        rest = decoder.push(chunk);
        if (!hadPrelude && decoder.prelude) {
          const { statusCode = 200, headers = {}, cookies } = decoder.prelude;
          res.writeHead(
            statusCode,
            cookies?.length ? { ...headers, "set-cookie": cookies } : headers,
          );
          observer.firstByte?.();
        }
      } catch (err) {
        // A prelude node:http cannot send (a header value with a non-Latin-1 character, say)
        // fails this response with 500, never the process; the rest of the body is dropped.
        failed = true;
        log.error("the handler's response prelude cannot be sent", err as Error);
        if (!res.headersSent) sendServerError(res, url);
        else res.destroy();
        return;
      }
      if (rest) await writeBody(rest);
    },
    end() {
      if (failed) return;
      if (!res.headersSent) res.writeHead(200);
      // Uncorked first: Node 22 writes a chunked response's last chunk at end() ahead of the
      // chunks still corked, and a client reads the body that follows it as a broken response.
      uncork();
      res.end();
    },
  };
}

/** A 500 in the envelope of the API the path belongs to (one-api's on /api, OpenAI's elsewhere). */
function sendServerError(res: ServerResponse, url: string): void {
  const message = "The server had an error while sending its response.";
  const body = url.startsWith("/api/")
    ? { success: false, message }
    : { error: { message, type: "server_error", param: null, code: null } };
  res.writeHead(500, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** The CORS settings the CDK stack gives the function URL, applied the same way here. */
function applyCors(res: ServerResponse): void {
  res.setHeader("access-control-allow-origin", FUNCTION_URL_CORS.allowOrigins);
  res.setHeader("access-control-allow-methods", FUNCTION_URL_CORS.allowMethods);
  res.setHeader("access-control-allow-headers", FUNCTION_URL_CORS.allowHeaders.join(", "));
  res.setHeader("access-control-expose-headers", FUNCTION_URL_CORS.exposeHeaders.join(","));
  res.setHeader("access-control-max-age", String(FUNCTION_URL_CORS.maxAgeSeconds));
}

/** The request body, read through events: cheaper per request than async iteration. */
function readBody(req: IncomingMessage): Promise<Buffer | "too large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) return void chunks.push(chunk);
      // Refused: the rest is drained unread.
      req.off("data", onData);
      req.resume();
      resolve("too large");
    };
    req.on("data", onData);
    // Once settled, later calls change nothing.
    req.once("end", () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
    );
    req.once("error", reject);
    req.once("close", () => {
      if (!req.complete) reject(new Error("the client closed the connection mid-request"));
    });
  });
}

/** Lambda passes text bodies as they are and base64-encodes everything else. */
function isTextContent(contentType: string | undefined): boolean {
  if (!contentType) return false;
  return /^(text\/|application\/(json|javascript|xml|x-www-form-urlencoded|x-ndjson|jsonl)|[^;]*\+(json|xml))/i.test(
    contentType,
  );
}

export function toFunctionUrlEvent(req: IncomingMessage, body: Buffer): LambdaFunctionURLEvent {
  const url = new URL(req.url ?? "/", "http://local");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === "cookie" || name === TEST_HEADER || value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = name in query ? `${query[name]},${value}` : value;
  const text = isTextContent(req.headers["content-type"]);
  const now = new Date();
  const host = req.headers.host ?? "localhost";
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies: req.headers.cookie ? req.headers.cookie.split(/;\s*/) : undefined,
    headers,
    queryStringParameters: url.search ? query : undefined,
    requestContext: {
      accountId: "anonymous",
      apiId: "local",
      domainName: host,
      domainPrefix: host.split(".")[0] ?? host,
      http: {
        method: req.method ?? "GET",
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        userAgent: req.headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: body.length ? body.toString(text ? "utf8" : "base64") : undefined,
    isBase64Encoded: body.length > 0 && !text,
  };
}
