/**
 * Reads an upstream body on behalf of a relayed response. It knows whether the client went
 * away and whether the upstream went silent, and cancels the upstream in both cases.
 */
export class UpstreamReader {
  clientClosed = false;
  /** The upstream sent nothing for `idleTimeoutMs` and was cut off. */
  idle = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly source: AsyncIterable<Uint8Array>,
    private readonly abort: () => void,
    readonly idleTimeoutMs = 0,
  ) {}

  /** The upstream's chunks as they arrive; throws if the upstream fails or is cut off. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    try {
      this.watch();
      for await (const chunk of this.source) {
        this.watch();
        yield chunk;
      }
    } finally {
      clearTimeout(this.timer);
    }
  }

  /**
   * The response body for the client. Its return() and throw() (the client went away) abort
   * the upstream first, so a relay waiting on the upstream wakes up and can finish.
   * A generator closed before its first next() never runs its `finally`, so `onUnstarted`
   * does that generator's closing work instead.
   */
  expose(relayed: AsyncGenerator<Uint8Array>, onUnstarted: () => void): AsyncIterable<Uint8Array> {
    let started = false;
    const close = () => {
      this.clientClosed = true;
      this.abort();
      if (!started) {
        started = true;
        onUnstarted();
      }
    };
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          started = true;
          return relayed.next();
        },
        return: (value?: unknown) => {
          close();
          return relayed.return(value as undefined);
        },
        throw: (error?: unknown) => {
          close();
          return relayed.throw(error);
        },
      }),
    };
  }

  private watch(): void {
    clearTimeout(this.timer);
    if (this.idleTimeoutMs <= 0) return;
    this.timer = setTimeout(() => {
      this.idle = true;
      this.abort();
    }, this.idleTimeoutMs);
  }
}
