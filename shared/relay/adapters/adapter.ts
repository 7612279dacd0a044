import type { AwsCredentials } from "../../aws/sigv4";
import type { Metered } from "../../billing/metered";
import type { Message } from "../../messages/codes";
import type { ChannelRecord } from "../../store/channels";
import type { SseEvent } from "../../stream/sse";
import { type Operation, operationOf, type Protocol } from "../protocol";

/** One operation, ready to be sent to some channel. */
export interface UpstreamCall {
  /** The path below /v1, e.g. "/chat/completions" or "/messages". */
  path: string;
  /** The model name the client asked for. */
  model: string;
  /** The model name the upstream knows (after the channel's mapping). */
  upstreamModel: string;
  /** A JSON body, its `model` already the upstream's. */
  json?: Record<string, unknown>;
  /** A multipart body (audio uploads). */
  form?: FormData;
  /**
   * A JSON body as bytes, sent exactly as they are (a pass-through of the client's own body,
   * top-level edits spliced in by relay/json-splice.ts): takes the place of `json`. Always
   * bytes JSON.parse accepts (a body readJsonObject read, spliced with JSON values, or made
   * by JSON.stringify): adapters scan it as such (json-splice's `parsed`).
   */
  raw?: Uint8Array;
  /** Headers of the client's that the channel's protocol carries on (e.g. `anthropic-beta`). */
  headers?: Record<string, string>;
  accept?: string;
}

/**
 * What an adapter may need beyond the channel and the call, from the process it runs in
 * (Services): relay code never reads the environment itself.
 */
export interface AdapterContext {
  /** The function role's AWS credentials (a Bedrock channel without an API key signs with them). */
  awsCredentials?: () => AwsCredentials;
}

export interface UpstreamHttpRequest {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string | Uint8Array | FormData;
}

/** The headers of an upstream's answer, as fetch's Headers reads them. */
export interface HeaderGetter {
  get(name: string): string | null;
}

/** What a provider says about a request it rejected, for the client (OpenAI's error fields). */
export interface UpstreamErrorFields {
  message?: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

/**
 * What an upstream's error answer (a non-2xx) means, as its adapter reads it. upstream.ts turns
 * it into the client's error and the attempt's health; the adapter only knows its provider.
 */
export interface UpstreamErrorReading {
  /**
   * `auth`: the channel's key was refused; `rate_limited`: the upstream wants the calls to slow
   * down (it is overloaded, or the account is out of quota); `failure`: the upstream failed;
   * `client_error`:
   * the request itself is at fault, and another channel would say the same.
   */
  kind: "auth" | "rate_limited" | "failure" | "client_error";
  /**
   * Another channel may be tried: the upstream has nothing to charge for (it said it did not
   * process the request, or never had all of it). A request it may have worked on is never
   * sent again.
   */
  retryable: boolean;
  /** A `rate_limited` answer that says the account is out of quota: waiting will not help. */
  outOfQuota?: boolean;
  /** A `rate_limited` answer that says the upstream is overloaded (529, 503 with Retry-After). */
  overloaded?: boolean;
  /** The upstream's Retry-After, in ms, when it sent one. */
  retryAfterMs?: number;
  /** For the channel's health record, e.g. "HTTP 429: Rate limit reached". */
  detail: string;
  /**
   * The call to send once more, on the same channel, before any other: the upstream refused a
   * part of it the adapter can leave out, and processed nothing (Bedrock's "invalid beta flag").
   */
  resend?: { call(call: UpstreamCall): UpstreamCall; why: string };
  /**
   * The upstream serves the model, but only in this protocol, and processed nothing (OpenAI's
   * "This model is only supported in v1/responses" for a chat call): the relay may send the
   * call again in that protocol (a face's RelayPlan.resend: the chat face's, relay/completion.ts).
   */
  onlyIn?: Protocol;
  /** The provider's own account of the error (passed on to the client for a client error). */
  fields?: UpstreamErrorFields;
}

/** A stream's usage, read event by event (each event's parsed `data`). */
export interface StreamUsage {
  read(event: unknown): void;
  /** The kinds the events reported; undefined when none reported usage. */
  metered(): Metered | undefined;
  /**
   * False while the output count is still a placeholder (a Messages stream before its
   * message_delta): a stream that ended then is billed its answer as delivered. Readers whose
   * counts come whole leave it out.
   */
  readonly final?: boolean;
}

/** How one protocol's answers report usage (by the readers in billing/usage/). */
export interface UsageReader {
  /** The usage of a whole answer (its parsed JSON body); undefined when it reports none. */
  answer(body: unknown): Metered | undefined;
  /** A reader for one streamed answer. */
  stream(): StreamUsage;
}

/**
 * How one type of channel is spoken to, both halves of a call: which operations it serves and
 * in which protocol, the HTTP request, and beside it how to read the answer's stream, its
 * errors and its usage, and how to check its key. Retries, billing and relaying to the client
 * are the relay's.
 */
export interface ChannelAdapter {
  /** The operations it serves, each with the protocol it speaks it in. */
  readonly operations: Readonly<Partial<Record<Operation, Protocol>>>;
  /** Whether it serves the operation at an OpenAI path (below /v1): from `operations`. */
  serves(path: string): boolean;
  /** The provider's own name for a model, when the channel maps none (Azure's deployments). */
  defaultUpstreamModel?(model: string): string;
  /** The HTTP request: URL, credentials, and the body as this upstream takes it. */
  request(
    channel: ChannelRecord,
    call: UpstreamCall,
    context?: AdapterContext,
  ): UpstreamHttpRequest;
  /** A streamed answer's body as the protocol's events, one batch per chunk read. */
  decode(body: AsyncIterable<Uint8Array>, protocol: Protocol): AsyncIterable<SseEvent[]>;
  /** What a non-2xx answer means (its status, headers and body text). */
  error(status: number, headers: HeaderGetter, text: string): UpstreamErrorReading;
  /** The usage reader of a protocol it speaks; undefined when its answers carry none. */
  usage(protocol: Protocol): UsageReader | undefined;
  /**
   * The cheapest request that says whether the provider takes the channel's key at all (an
   * answer error() reads as `auth` says not); undefined when the provider has none.
   */
  probe(channel: ChannelRecord, context?: AdapterContext): UpstreamHttpRequest | undefined;
  /** The admin's test of a channel: one tiny real call of an operation it serves. */
  testCall(model: string, upstreamModel: string): UpstreamCall;
  /** What is wrong with a channel's `config` for this provider (absent: anything goes). */
  configProblem?(config: Readonly<Record<string, string>>): Message | undefined;
}

/** An adapter from its parts: `serves` follows from `operations`. */
export function defineAdapter(parts: Omit<ChannelAdapter, "serves">): ChannelAdapter {
  return {
    ...parts,
    serves(path) {
      const op = operationOf(path);
      return op !== undefined && parts.operations[op] !== undefined;
    },
  };
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

/** The JSON or multipart body of a call, with its content type (fetch sets multipart's). */
export function encodeBody(call: UpstreamCall): {
  headers: Record<string, string>;
  body?: string | Uint8Array | FormData;
} {
  const headers: Record<string, string> = call.accept ? { accept: call.accept } : {};
  if (call.form) return { headers, body: call.form };
  if (call.raw)
    return { headers: { ...headers, "content-type": "application/json" }, body: call.raw };
  if (call.json)
    return {
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(call.json),
    };
  return { headers };
}
