/**
 * A stream read to its end whoever reads it: a pump pulls `source` from now on, and the client's
 * side gets what the pump read, in order. A client that leaves (or never reads) stops getting
 * it; the pump goes on, so whatever the source does at its end (a relay's settlement from the
 * final event) still happens. For an upstream that keeps working when the client leaves (a
 * Responses `background` response): what it generates is read, and billed, to the end.
 */
export function drained(source: AsyncIterable<Uint8Array>): {
  client: AsyncIterable<Uint8Array>;
  done: Promise<void>;
} {
  const queue: Uint8Array[] = [];
  let ended = false;
  let failed: unknown;
  let gone = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const done = (async () => {
    try {
      for await (const chunk of source) {
        if (gone) continue;
        queue.push(chunk);
        notify();
      }
    } catch (err) {
      failed = err;
    } finally {
      ended = true;
      notify();
    }
  })();
  const client = (async function* () {
    try {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) {
          yield chunk;
          continue;
        }
        if (ended) {
          if (failed !== undefined) throw failed;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      gone = true;
      queue.length = 0;
    }
  })();
  return { client, done };
}

/** Reads a stream to its end with nobody to give it to (its relay still sees every event). */
export async function readToEnd(source: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _chunk of source) {
    // Nothing to do with the bytes: what matters is what the relay reads on the way.
  }
}
