import { type SseEvent, sseEvents } from "./sse";
import { UpstreamReader } from "./upstream-reader";

/** How a relayed stream ended. */
export type StreamOutcome =
  /** The upstream finished normally. */
  | "completed"
  /** The upstream stopped or failed before finishing; the client got an error event. */
  | "interrupted"
  /** The client went away. */
  | "client_closed";

/** Decides what the client sees of each upstream event. */
export interface SseRelay {
  /** Text to send for these events ("" to send nothing). */
  onEvents(events: SseEvent[]): string;
  /**
   * The upstream body ended, cleanly or not. Returns any closing text for the client and
   * whether the response was complete; an incomplete one is followed by an error event.
   */
  onUpstreamEnd(): { text: string; complete: boolean };
  /**
   * The text that tells the client the stream broke off (in its protocol's own error event),
   * sent after an incomplete end.
   */
  onBroken(message: string): string;
  /** Called exactly once, after the last byte went out (or could not). */
  onClose(outcome: StreamOutcome): void;
}

/** An upstream body as events, one batch per chunk read (the adapter's decode). */
export type EventDecoder = (body: AsyncIterable<Uint8Array>) => AsyncIterable<SseEvent[]>;

const encoder = new TextEncoder();

/**
 * Relays an upstream's streamed body to the client as it arrives, as events the upstream's
 * adapter decoded (`decode`: SSE unless said otherwise). If the upstream breaks off before its
 * final event, the client gets the relay's error event (relay.onBroken). `abort` cancels the
 * upstream when the client goes away, or when the upstream stays silent for `idleTimeoutMs`.
 */
export function relaySse(
  upstream: AsyncIterable<Uint8Array>,
  relay: SseRelay,
  abort: () => void,
  idleTimeoutMs = 0,
  /** Aborted when sluice itself must stop the response (the function's time is running out). */
  stop?: AbortSignal,
  decode: EventDecoder = sseEvents,
): AsyncIterable<Uint8Array> {
  const reader = new UpstreamReader(upstream, abort, idleTimeoutMs);
  const relayed = (async function* () {
    let outcome: StreamOutcome = "interrupted";
    try {
      try {
        for await (const events of decode(reader.chunks())) {
          const text = relay.onEvents(events);
          if (text) yield encoder.encode(text);
        }
      } catch (err) {
        if (reader.clientClosed) throw err;
        // The upstream connection failed mid-stream: fall through to the error event.
      }
      if (!reader.clientClosed) {
        const end = relay.onUpstreamEnd();
        if (end.text) yield encoder.encode(end.text);
        if (end.complete) outcome = "completed";
        else {
          const silent = `The upstream provider sent nothing for ${reader.idleTimeoutMs / 1000} s; the response is incomplete.`;
          const stopped = stop?.aborted ? stopMessage(stop.reason) : undefined;
          yield encoder.encode(relay.onBroken(stopped ?? (reader.idle ? silent : BROKEN)));
        }
      }
    } finally {
      relay.onClose(reader.clientClosed ? "client_closed" : outcome);
    }
  })();
  return reader.expose(relayed, () => relay.onClose("client_closed"));
}

function stopMessage(reason: unknown): string {
  return reason instanceof Error
    ? reason.message
    : "The response was stopped before it was complete.";
}

const BROKEN = "The upstream provider stopped before the response was complete.";
