import type { SQSClient } from "@aws-sdk/client-sqs";
import type { QueueMessage } from "./worker";

/**
 * The batch queue: every message names the worker step that handles it. The SQS client is
 * loaded on first use.
 */
export class JobQueue {
  constructor(
    private readonly sqs: () => Promise<SQSClient>,
    readonly url: string,
  ) {}

  async send(message: QueueMessage, delaySeconds = 0): Promise<void> {
    const { SendMessageCommand } = await import("@aws-sdk/client-sqs");
    await (await this.sqs()).send(
      new SendMessageCommand({
        QueueUrl: this.url,
        MessageBody: JSON.stringify(message),
        DelaySeconds: delaySeconds,
      }),
    );
  }

  /** Many messages, ten to a request (SQS's limit). */
  async sendAll(messages: QueueMessage[]): Promise<void> {
    const { SendMessageBatchCommand } = await import("@aws-sdk/client-sqs");
    for (let i = 0; i < messages.length; i += 10) {
      const entries = messages
        .slice(i, i + 10)
        .map((message, j) => ({ Id: String(j), MessageBody: JSON.stringify(message) }));
      const out = await (await this.sqs()).send(
        new SendMessageBatchCommand({ QueueUrl: this.url, Entries: entries }),
      );
      if (out.Failed?.length) {
        throw new Error(
          `SQS refused ${out.Failed.length} messages: ${out.Failed.map((f) => f.Message).join("; ")}`,
        );
      }
    }
  }
}
