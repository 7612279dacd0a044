import type { GatewayResponse } from "./types";

export function json(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): GatewayResponse {
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(value),
  };
}

/** An already-serialised JSON body, passed through byte for byte. */
export function rawJson(status: number, body: Uint8Array | string): GatewayResponse {
  return { status, headers: { "content-type": "application/json" }, body };
}

export function eventStream(body: AsyncIterable<Uint8Array>): GatewayResponse {
  return {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      // Tells proxies in front of sluice not to buffer the stream.
      "x-accel-buffering": "no",
    },
    body,
  };
}
