/**
 * Reads an upstream body on behalf of a relayed response. It knows whether the client went
 * away and whether the upstream went silent, and cancels the upstream in both cases.
 */
export interface SilenceLimits {
  /** Silence allowed once the answer has begun (0: none). */
  idleMs?: number;
  /**
   * Time allowed for the answer to begin (the first token: a reasoning model sends nothing
   * while it reasons), counted from the request's sending; until then the idle limit does not
   * apply. Unset: the idle limit applies from the start.
   */
  firstTokenMs?: number;
  /** How long ago the request was sent: what is already spent of `firstTokenMs`. */
  sentMsAgo?: number;
}

export class UpstreamReader {
  clientClosed = false;
  /** The upstream was cut off for its silence: before its answer began, or in the middle. */
  silence: "first_token" | "idle" | undefined;
  readonly idleTimeoutMs: number;
  readonly firstTokenMs: number | undefined;
  private readonly firstTokenLeftMs: number;
  private began: boolean;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armed: "first_token" | "idle" | undefined;

  constructor(
    private readonly source: AsyncIterable<Uint8Array>,
    private readonly abort: () => void,
    limits: SilenceLimits = {},
  ) {
    this.idleTimeoutMs = limits.idleMs ?? 0;
    this.firstTokenMs = limits.firstTokenMs;
    this.firstTokenLeftMs = Math.max(1, (limits.firstTokenMs ?? 0) - (limits.sentMsAgo ?? 0));
    this.began = limits.firstTokenMs === undefined;
  }

  /** True once the upstream was cut off for its silence. */
  get idle(): boolean {
    return this.silence !== undefined;
  }

  /** The answer has begun: from now on the idle limit applies, from each chunk. */
  begin(): void {
    if (this.began) return;
    this.began = true;
    this.watch();
  }

  /** The upstream's chunks as they arrive; throws if the upstream fails or is cut off. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    try {
      if (this.began) this.watch();
      else this.cutOffAfter(this.firstTokenLeftMs, "first_token");
      for await (const chunk of this.source) {
        // Before the answer begins, chunks (comments, a role chunk) do not move its deadline.
        if (this.began) this.watch();
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
    this.cutOffAfter(this.idleTimeoutMs, "idle");
  }

  /**
   * The idle limit restarts at every chunk: its timer is moved (refresh), not made anew.
   */
  private cutOffAfter(ms: number, silence: "first_token" | "idle"): void {
    if (this.timer !== undefined && this.armed === silence) {
      this.timer.refresh();
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    if (ms <= 0) return;
    this.armed = silence;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.silence = silence;
      this.abort();
    }, ms);
  }
}
