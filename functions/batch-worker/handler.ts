import { randomUUID } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { batchSteps } from "../../shared/batches/steps";
import { countEvent, logger } from "../../shared/observability";
import { createWorker } from "../../shared/queue/worker";
import { functionServices } from "../adapters/services";

const worker = createWorker(batchSteps(functionServices()));

/** Time kept back at the end of an invocation to record results and queue the rest. */
const RECORD_MS = 15_000;
/** Lines started later than this before the hard deadline might not finish: none start. */
const LINE_MS = 60_000;

/**
 * Consumes the batch queue. Each message is handled on its own; the ones that fail are
 * reported as batch item failures, so SQS redelivers only those (ReportBatchItemFailures).
 */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  // Every log line of an invocation names its request and says whether it was a cold start.
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event, context) => {
    const hardDeadline =
      Date.now() + Math.max(context.getRemainingTimeInMillis() - RECORD_MS, 5_000);
    const deadline = Math.max(hardDeadline - LINE_MS, Date.now());
    const batchItemFailures: SQSBatchItemFailure[] = [];
    for (const record of event.Records) {
      try {
        await worker.handle(record.body, {
          deadline,
          hardDeadline,
          owner: `${context.awsRequestId}:${randomUUID()}`,
        });
      } catch (err) {
        logger.error("batch step failed", {
          messageId: record.messageId,
          receiveCount: record.attributes.ApproximateReceiveCount,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
        countEvent("BatchStepsFailed");
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  });
