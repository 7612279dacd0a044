import type { Metered } from "../../billing/metered";
import type { SseEvent } from "../../stream/sse";
import type { UpstreamErrorFields } from "../adapters/adapter";
import type { Protocol } from "../protocol";

/**
 * A bridge owns one pair of protocols, both halves of a call: the client's request turned into
 * the channel's, and the channel's answer, stream events, errors and usage turned back into the
 * client's. Adapters own transports (URL, credentials, framing); a bridge never sees them, so
 * every provider that speaks a protocol shares its bridges (Anthropic and Bedrock speak
 * Messages; OpenAI, Azure and every OpenAI-compatible host speak chat).
 *
 * When the client's protocol is the channel's there is no bridge: bytes pass through.
 */
export interface Bridge {
  /** The client's protocol (the face it called). */
  readonly from: Protocol;
  /** The channel's protocol. */
  readonly to: Protocol;
  /**
   * Headers the channel's protocol needs beside a bridged request, sent as the client's own
   * would be (UpstreamCall.headers): e.g. the `anthropic-version` the request is written for.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** The client's request body as the channel's (`model` is set by the relay afterwards). */
  request(body: Record<string, unknown>, context: BridgeContext): Record<string, unknown>;
  /** The channel's whole (non-streamed) answer as the client's. */
  answer(body: Record<string, unknown>, context: BridgeContext): Record<string, unknown>;
  /** A converter for one streamed answer, from its first upstream event to its last. */
  stream(context: BridgeContext): StreamBridge;
  /** An upstream's refusal (a 4xx the client should see), in the client's protocol's terms. */
  error(status: number, fields: UpstreamErrorFields): FaceError;
}

/** What a bridge knows of the call besides the bodies. */
export interface BridgeContext {
  /** The model name the client asked for: answers name it, never the upstream's. */
  model: string;
  /** The channel's options for this bridge (e.g. whether it takes `reasoning_content` back). */
  options?: Readonly<Record<string, unknown>>;
  /**
   * The client's own request body, for bridges whose answers depend on it: the Responses →
   * chat bridge restores namespaced and custom tools' names and kinds from its `tools`.
   */
  request?: Readonly<Record<string, unknown>>;
  /** The id the face gave this response (`resp_…`), when it minted one itself (rule 8). */
  responseId?: string;
}

/** One streamed answer, converted: channel events in, the client's SSE text out. */
export interface StreamBridge {
  /** The client's SSE text for a batch of the channel's events ("" for nothing yet). */
  push(events: SseEvent[]): string;
  /**
   * The channel's stream ended (cleanly or not): any closing text, and whether the answer was
   * complete. An incomplete one is followed by `broken`.
   */
  end(): { text: string; complete: boolean };
  /** The client protocol's own error event, for a stream that broke off. */
  broken(message: string): string;
  /** The usage the channel's events reported so far, in sluice's kinds. */
  metered(): Metered | undefined;
}

/** An error in the client's protocol's terms. */
export interface FaceError {
  status: number;
  /** The protocol's error type, e.g. Anthropic's `invalid_request_error`. */
  type: string;
  message: string;
}
