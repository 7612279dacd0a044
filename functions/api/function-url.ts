import { Readable } from "node:stream";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { type GatewayRequest, type GatewayResponse, isStreamBody } from "../../shared/http/types";

const EMPTY = new Uint8Array(0);

/** A function URL event (payload format 2.0) as the core's plain request. */
export function toGatewayRequest(
  event: LambdaFunctionURLEvent,
  receivedAt: number,
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
  };
}

/** What middy's streamifyResponse pipes to the function URL: prelude fields and a stream body. */
export interface StreamingResult {
  statusCode: number;
  headers: Record<string, string>;
  body: Readable | string;
}

export function toStreamingResult(response: GatewayResponse): StreamingResult {
  const { status: statusCode, headers, body } = response;
  if (typeof body === "string") return { statusCode, headers, body };
  if (isStreamBody(body))
    return { statusCode, headers, body: Readable.from(body, { objectMode: false }) };
  return {
    statusCode,
    headers,
    body: Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]),
  };
}
