import type { StreamOutcome } from "./relay-stream";
import { UpstreamReader } from "./upstream-reader";

/**
 * Relays a binary upstream body (speech audio) chunk by chunk as it arrives, and reports
 * how it ended exactly once. A broken upstream fails the body too, so the client sees an
 * error rather than a short file.
 */
export function relayBytes(
  upstream: AsyncIterable<Uint8Array>,
  abort: () => void,
  onClose: (outcome: StreamOutcome) => void,
  idleTimeoutMs = 0,
): AsyncIterable<Uint8Array> {
  const reader = new UpstreamReader(upstream, abort, { idleMs: idleTimeoutMs });
  const relayed = (async function* () {
    let outcome: StreamOutcome = "interrupted";
    try {
      yield* reader.chunks();
      outcome = "completed";
    } finally {
      onClose(reader.clientClosed ? "client_closed" : outcome);
    }
  })();
  return reader.expose(relayed, () => onClose("client_closed"));
}
