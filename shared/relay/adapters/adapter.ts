import type { ChannelRecord } from "../../store/channels";

/** One OpenAI operation, ready to be sent to some channel. */
export interface UpstreamCall {
  /** The OpenAI path below /v1, e.g. "/chat/completions". */
  path: string;
  /** The model name the upstream knows (after the channel's mapping). */
  upstreamModel: string;
  body: string | Uint8Array | FormData;
  /** Absent for FormData, whose boundary fetch sets itself. */
  contentType?: string;
  accept?: string;
}

export interface UpstreamHttpRequest {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string | Uint8Array | FormData;
}

/**
 * How one type of channel is spoken to. Adapters only translate a request into HTTP;
 * retries, billing and streaming are the relay's.
 */
export interface ChannelAdapter {
  request(channel: ChannelRecord, call: UpstreamCall): UpstreamHttpRequest;
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

export function contentHeaders(call: UpstreamCall): Record<string, string> {
  const headers: Record<string, string> = {};
  if (call.contentType) headers["content-type"] = call.contentType;
  if (call.accept) headers.accept = call.accept;
  return headers;
}
