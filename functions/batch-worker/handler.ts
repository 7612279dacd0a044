import middy from "@middy/core";
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createWorker } from "../../shared/queue/worker";

const worker = createWorker({});

/**
 * Consumes the batch queue. Each message is handled on its own; the ones that fail are
 * reported as batch item failures, so SQS redelivers only those (ReportBatchItemFailures).
 */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
  const batchItemFailures: SQSBatchItemFailure[] = [];
  for (const record of event.Records) {
    try {
      await worker.handle(record.body);
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "batch step failed",
          messageId: record.messageId,
          receiveCount: record.attributes.ApproximateReceiveCount,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        }),
      );
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});
