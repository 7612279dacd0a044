/**
 * The batch worker's core: every SQS message names a step (`type`) and the worker runs that
 * step's handler. Steps must be idempotent: SQS delivers at least once.
 */
export interface QueueMessage {
  type: string;
  [field: string]: unknown;
}

/** What a step knows of the invocation running it. */
export interface StepContext {
  /** Epoch milliseconds by which the step should have stopped starting new work. */
  deadline: number;
  /**
   * Epoch milliseconds at which work still running is cancelled, leaving time to record
   * what finished and queue the rest before the invocation is killed.
   */
  hardDeadline: number;
  /** Identifies this invocation (chunk leases). */
  owner: string;
}

export type StepHandler = (message: QueueMessage, context: StepContext) => Promise<void>;

export class UnknownStepError extends Error {
  constructor(type: unknown) {
    super(`no worker step handles messages of type ${JSON.stringify(type)}`);
    this.name = "UnknownStepError";
  }
}

export function createWorker(steps: Readonly<Record<string, StepHandler>>) {
  return {
    async handle(body: string, context: StepContext): Promise<void> {
      const message = JSON.parse(body) as QueueMessage;
      const step = Object.hasOwn(steps, message.type) ? steps[message.type] : undefined;
      if (!step) throw new UnknownStepError(message.type);
      await step(message, context);
    },
  };
}
