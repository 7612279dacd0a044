import { Writable } from "node:stream";

/**
 * A local implementation of the `awslambda` global that Lambda's Node.js runtime gives
 * streaming functions: `streamifyResponse` marks a handler as streaming, and
 * `HttpResponseStream.from` writes the function URL prelude (status, headers) ahead of the
 * body, as JSON followed by 8 NUL bytes, exactly as the runtime does.
 */

export const HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";
const STREAMING = Symbol.for("sluice.local.streaming-handler");

/** Where a response stream's bytes go: the local function URL server. */
export interface ResponseSink {
  start(contentType: string): void;
  write(chunk: Uint8Array): Promise<void>;
  end(): void;
}

/** The `responseStream` a streaming handler writes to. */
export class LocalResponseStream extends Writable {
  private contentType = "application/octet-stream";
  private started = false;
  /** Set by HttpResponseStream.from: writes the prelude before the first body byte. */
  onBeforeFirstWrite: ((write: (chunk: Uint8Array | string) => void) => void) | undefined;

  constructor(private readonly sink: ResponseSink) {
    super();
  }

  setContentType(contentType: string): void {
    this.contentType = contentType;
  }

  private begin(): void {
    if (this.started) return;
    this.started = true;
    this.sink.start(this.contentType);
    this.onBeforeFirstWrite?.((chunk) => {
      void this.sink.write(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    });
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.begin();
    this.sink.write(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.begin();
    this.sink.end();
    callback();
  }
}

type StreamingHandler = (
  event: unknown,
  responseStream: LocalResponseStream,
  context: unknown,
) => Promise<unknown>;

export function isStreamingHandler(handler: unknown): handler is StreamingHandler {
  return (
    typeof handler === "function" &&
    (handler as unknown as Record<symbol, unknown>)[STREAMING] === true
  );
}

const awslambdaLocal = {
  streamifyResponse<T extends StreamingHandler>(handler: T): T {
    (handler as unknown as Record<symbol, unknown>)[STREAMING] = true;
    return handler;
  },
  HttpResponseStream: {
    from(stream: LocalResponseStream, prelude: Record<string, unknown>): LocalResponseStream {
      stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
      stream.onBeforeFirstWrite = (write) => {
        write(JSON.stringify(prelude));
        write(new Uint8Array(8));
      };
      return stream;
    },
  },
};

/** Installs the global before any handler module is imported (middy reads it at import). */
export function installAwsLambdaGlobal(): void {
  (globalThis as Record<string, unknown>).awslambda = awslambdaLocal;
}

/**
 * Splits a response stream that starts with a function URL prelude into the prelude and
 * the body bytes that follow it.
 */
export class PreludeDecoder {
  private pending = Buffer.alloc(0);
  prelude:
    | { statusCode?: number; headers?: Record<string, string>; cookies?: string[] }
    | undefined;

  /** Returns body bytes, once the prelude has been read. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    if (this.prelude) return chunk;
    this.pending = Buffer.concat([this.pending, chunk]);
    const end = findSeparator(this.pending);
    if (end === -1) return undefined;
    this.prelude = JSON.parse(this.pending.subarray(0, end).toString("utf8"));
    const rest = this.pending.subarray(end + 8);
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

function findSeparator(buffer: Buffer): number {
  let run = 0;
  for (let i = 0; i < buffer.length; i++) {
    run = buffer[i] === 0 ? run + 1 : 0;
    if (run === 8) return i - 7;
  }
  return -1;
}
