import { randomUUID } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { ChunkLeased } from "../../shared/batches/chunk";
import { batchSteps } from "../../shared/batches/steps";
import { countEvent } from "../../shared/observability";
import { createWorker } from "../../shared/queue/worker";
import type { Services } from "../../shared/services";
import { functionServices } from "../adapters/services";

/** Time kept back at the end of an invocation to record results and queue the rest. */
const RECORD_MS = 15_000;
/** Lines started later than this before the hard deadline might not finish: none start. */
const LINE_MS = 60_000;

/**
 * Consumes the batch queue. Each message is handled on its own; the ones that fail are
 * reported as batch item failures, so SQS redelivers only those (ReportBatchItemFailures).
 */
export function batchWorkerHandler(services: Services) {
  const worker = createWorker(batchSteps(services));
  const { log } = services;
  return (
    middy<SQSEvent, SQSBatchResponse>()
      // Every log line of an invocation names its request and says whether it was a cold start.
      .use(injectLambdaContext(log, { resetKeys: true }))
      .handler(async (event, context) => {
        const hardDeadline =
          Date.now() + Math.max(context.getRemainingTimeInMillis() - RECORD_MS, 5_000);
        const deadline = Math.max(hardDeadline - LINE_MS, Date.now());
        const batchItemFailures: SQSBatchItemFailure[] = [];
        for (const record of event.Records) {
          const delivery = {
            messageId: record.messageId,
            receiveCount: record.attributes.ApproximateReceiveCount,
          };
          try {
            await worker.handle(record.body, {
              deadline,
              hardDeadline,
              owner: `${context.awsRequestId}:${randomUUID()}`,
            });
          } catch (err) {
            if (err instanceof ChunkLeased) {
              // Nothing went wrong: the message comes back once the other worker is done.
              log.info("batch step deferred", { ...delivery, reason: err.message });
            } else {
              log.error("batch step failed", {
                ...delivery,
                error: err instanceof Error ? (err.stack ?? err.message) : String(err),
              });
              countEvent("BatchStepsFailed");
            }
            batchItemFailures.push({ itemIdentifier: record.messageId });
          }
        }
        return { batchItemFailures };
      })
  );
}

export const handler = batchWorkerHandler(functionServices());
