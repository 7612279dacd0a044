/** A change waiting for its item's next write, and how to answer it. */
export interface Pending<C, R> {
  change: C;
  resolve(outcome: R): void;
  reject(err: unknown): void;
}

/**
 * Writes to one item go one at a time; the changes that arrive meanwhile wait, and go out
 * together in the next write (a group commit): a busy item costs one write per round trip,
 * not one per change, and a quiet one waits for nothing.
 *
 * A queued change's deadline is the write in flight's: if that write met an outage, the
 * changes queued behind it fail with it (`notSent`), unsent, rather than each wait for the
 * same outage in turn.
 */
export class GroupCommit<C, R> {
  /** Per item, the changes waiting for its write in flight. */
  private readonly writers = new Map<string, { queue: Pending<C, R>[]; busy: boolean }>();

  constructor(
    private readonly options: {
      /** Splits a queue into the changes of the next write and those that wait for a later one. */
      nextRound(queue: Pending<C, R>[]): [round: Pending<C, R>[], later: Pending<C, R>[]];
      /** What a change fails with when the write it waited for met an outage. */
      notSent(): unknown;
    },
  ) {}

  /**
   * Queues `change` for the item `id`. `write` sends one round of changes and answers each;
   * it resolves true when the store did not answer (an outage).
   */
  submit(id: string, change: C, write: (round: Pending<C, R>[]) => Promise<boolean>): Promise<R> {
    return new Promise((resolve, reject) => {
      const writer = this.writers.get(id) ?? { queue: [], busy: false };
      this.writers.set(id, writer);
      writer.queue.push({ change, resolve, reject });
      if (!writer.busy) void this.drain(id, writer, write);
    });
  }

  private async drain(
    id: string,
    writer: { queue: Pending<C, R>[]; busy: boolean },
    write: (round: Pending<C, R>[]) => Promise<boolean>,
  ): Promise<void> {
    writer.busy = true;
    while (writer.queue.length > 0) {
      const [round, later] = this.options.nextRound(writer.queue);
      writer.queue = later;
      if (await write(round)) {
        // The store did not answer the write they waited for: sending them into the same
        // outage would hold each for another write's attempts (a frozen DynamoDB, for as
        // long as it stays frozen). They fail with it, within its bound.
        for (const pending of writer.queue) pending.reject(this.options.notSent());
        writer.queue = [];
      }
    }
    writer.busy = false;
    this.writers.delete(id);
  }
}
