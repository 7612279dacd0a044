import type { ChannelRecord } from "../../store/channels";

/** One OpenAI operation, ready to be sent to some channel. */
export interface UpstreamCall {
  /** The OpenAI path below /v1, e.g. "/chat/completions". */
  path: string;
  /** The model name the client asked for. */
  model: string;
  /** The model name the upstream knows (after the channel's mapping). */
  upstreamModel: string;
  /** A JSON body, its `model` already the upstream's. */
  json?: Record<string, unknown>;
  /** A multipart body (audio uploads). */
  form?: FormData;
  accept?: string;
}

export interface UpstreamHttpRequest {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string | Uint8Array | FormData;
}

/**
 * How one type of channel is spoken to. Adapters only translate an OpenAI operation into
 * HTTP; retries, billing and streaming are the relay's.
 */
export interface ChannelAdapter {
  /** Whether this kind of channel can serve an OpenAI path at all. */
  serves(path: string): boolean;
  /** The provider's own name for a model, when the channel maps none (Azure's deployments). */
  defaultUpstreamModel?(model: string): string;
  request(channel: ChannelRecord, call: UpstreamCall): UpstreamHttpRequest;
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

/** The JSON or multipart body of a call, with its content type (fetch sets multipart's). */
export function encodeBody(call: UpstreamCall): {
  headers: Record<string, string>;
  body?: string | FormData;
} {
  const headers: Record<string, string> = call.accept ? { accept: call.accept } : {};
  if (call.form) return { headers, body: call.form };
  if (call.json)
    return {
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(call.json),
    };
  return { headers };
}
