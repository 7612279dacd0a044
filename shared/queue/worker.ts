/**
 * The batch worker's core: every SQS message names a step (`type`) and the worker runs that
 * step's handler. Steps must be idempotent: SQS delivers at least once.
 */
export interface QueueMessage {
  type: string;
  [field: string]: unknown;
}

export type StepHandler = (message: QueueMessage) => Promise<void>;

export class UnknownStepError extends Error {
  constructor(type: unknown) {
    super(`no worker step handles messages of type ${JSON.stringify(type)}`);
    this.name = "UnknownStepError";
  }
}

export function createWorker(steps: Readonly<Record<string, StepHandler>>) {
  return {
    async handle(body: string): Promise<void> {
      const message = JSON.parse(body) as QueueMessage;
      const step = Object.hasOwn(steps, message.type) ? steps[message.type] : undefined;
      if (!step) throw new UnknownStepError(message.type);
      await step(message);
    },
  };
}
