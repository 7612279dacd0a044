import { type SseEvent, sseEvents } from "./sse";
import { type SilenceLimits, UpstreamReader } from "./upstream-reader";

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
  /** The answer has begun (its first token came): the idle limit applies from now on. */
  readonly began?: boolean;
}

export interface RelayOptions extends SilenceLimits {
  /** An SSE comment goes to the client when the upstream has sent nothing for this long (0: none). */
  keepAliveMs?: number;
  /** Aborted when sluice itself must stop the response (the function's time is running out). */
  stop?: AbortSignal;
  /** The upstream body as events: the channel's adapter's decode (SSE when unset). */
  decode?: EventDecoder;
}

/** An upstream body as events, one batch per chunk read. */
export type EventDecoder = (body: AsyncIterable<Uint8Array>) => AsyncIterable<SseEvent[]>;

const KEEP_ALIVE = Symbol("keep-alive");
/** An SSE comment: clients ignore it; proxies on the way see the connection is alive. */
const KEEP_ALIVE_COMMENT = ": keep-alive\n\n";

const encoder = new TextEncoder();

/**
 * Relays an upstream's streamed body to the client as it arrives, as the events the upstream's
 * adapter decoded (`decode`). If the upstream breaks off before its final event, the client
 * gets the relay's error event (relay.onBroken). `abort` cancels the upstream when the client
 * goes away, when the upstream's answer does not begin within `firstTokenMs`, or when, once it
 * has begun, the upstream stays silent for `idleMs`. While the upstream is silent (a model
 * reasoning) the client gets a keep-alive comment every `keepAliveMs`.
 */
export function relaySse(
  upstream: AsyncIterable<Uint8Array>,
  relay: SseRelay,
  abort: () => void,
  options: RelayOptions = {},
): AsyncIterable<Uint8Array> {
  const reader = new UpstreamReader(upstream, abort, options);
  const { stop, decode = sseEvents } = options;
  const relayed = (async function* () {
    let outcome: StreamOutcome = "interrupted";
    try {
      try {
        const events = decode(reader.chunks());
        for await (const batch of withKeepAlive(events, options.keepAliveMs ?? 0)) {
          if (batch === KEEP_ALIVE) {
            yield encoder.encode(KEEP_ALIVE_COMMENT);
            continue;
          }
          const text = relay.onEvents(batch);
          if (relay.began) reader.begin();
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
          const stopped = stop?.aborted ? stopMessage(stop.reason) : undefined;
          yield encoder.encode(relay.onBroken(stopped ?? silenceMessage(reader) ?? BROKEN));
        }
      }
    } finally {
      relay.onClose(reader.clientClosed ? "client_closed" : outcome);
    }
  })();
  return reader.expose(relayed, () => relay.onClose("client_closed"));
}

function silenceMessage(reader: UpstreamReader): string | undefined {
  if (reader.silence === "first_token")
    return `The upstream provider did not begin its answer within ${(reader.firstTokenMs ?? 0) / 1000} s; the response is incomplete.`;
  if (reader.silence === "idle")
    return `The upstream provider sent nothing for ${reader.idleTimeoutMs / 1000} s; the response is incomplete.`;
  return undefined;
}

/**
 * The source's items, and KEEP_ALIVE whenever it has given nothing for `ms` (0: never). The
 * source is read one item at a time, as the consumer asks.
 */
async function* withKeepAlive<T>(
  source: AsyncIterable<T>,
  ms: number,
): AsyncGenerator<T | typeof KEEP_ALIVE> {
  if (ms <= 0) return yield* source;
  const items = source[Symbol.asyncIterator]();
  let next: Promise<IteratorResult<T>> | undefined;
  try {
    for (;;) {
      next ??= items.next();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<typeof KEEP_ALIVE>((resolve) => {
        timer = setTimeout(() => resolve(KEEP_ALIVE), ms);
      });
      const item = await Promise.race([next, tick]).finally(() => clearTimeout(timer));
      if (item === KEEP_ALIVE) {
        yield KEEP_ALIVE;
        continue;
      }
      next = undefined;
      if (item.done) return;
      yield item.value;
    }
  } finally {
    // A read still pending fails once the upstream is aborted: nobody is waiting for it.
    next?.catch(() => {});
    void items.return?.()?.catch(() => {});
  }
}

function stopMessage(reason: unknown): string {
  return reason instanceof Error
    ? reason.message
    : "The response was stopped before it was complete.";
}

const BROKEN = "The upstream provider stopped before the response was complete.";
