import type { CallNotes } from "../observability";
/**
 * A request as the core sees it: plain data, whatever edge it came through (a Lambda
 * function URL, the local server, a batch line).
 */
export interface GatewayRequest {
  /** Also sent back as x-request-id. */
  readonly id: string;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header names are lower-case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
  /**
   * The body as text, when it came as text (a function URL's JSON body): read as JSON without
   * decoding its bytes again (a large body's copies are what fill a 128 MB function).
   */
  readonly text?: string;
  /** performance.now() when the edge received the request. */
  readonly receivedAt: number;
  /** Aborted when the caller stops waiting (a batch worker out of time): the upstream call is cancelled. */
  readonly signal?: AbortSignal;
  /** The client's address, as the function URL saw it (sign-in throttling). */
  readonly sourceIp?: string;
}

/** A streamed body is any async iterable of bytes; the edge writes each chunk as it comes. */
export type ResponseBody = Uint8Array | string | AsyncIterable<Uint8Array>;

export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body: ResponseBody;
  /** Set-Cookie values (a function URL's prelude carries them apart from the headers). */
  cookies?: string[];
}

/** What the edge offers a request besides its data. */
export interface RequestContext {
  /**
   * Registers work to run once the response's last byte has been written, or the client has
   * gone: settlement and usage logs. The edge keeps the invocation alive until it is done.
   * `delivered` is false only where the edge throws the response away (a batch line that
   * ran twice keeps one result): a settlement then gives its hold back instead.
   */
  afterResponse(task: (delivered: boolean) => Promise<unknown>): void;
  /** Adds to the call's access line (model, channel, outcome, tokens), where one is written. */
  note?(notes: CallNotes): void;
}

export function isStreamBody(body: ResponseBody): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && Symbol.asyncIterator in body;
}
