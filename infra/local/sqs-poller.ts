import type { Logger } from "@aws-lambda-powertools/logger";
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { localContext } from "./lambda-context";
import { standInLogger } from "./logs";

// middy's handler type names a third argument that the Lambda runtime never passes.
type SqsHandler = (
  event: SQSEvent,
  context: Context,
  options: { signal: AbortSignal },
) => Promise<SQSBatchResponse | undefined>;

export interface SqsPoller {
  stop(): Promise<void>;
}

/**
 * What Lambda's SQS event source mapping does, on one machine: long-poll the queue, invoke
 * the worker with SQS-shaped events, and delete only the messages that succeeded
 * (ReportBatchItemFailures). Failed messages become visible again after the visibility
 * timeout and move to the dead-letter queue after maxReceiveCount receives, as on AWS.
 */
export function startSqsPoller(options: {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  functionName: string;
  batchSize: number;
  /** Concurrent invocations, like the event source's maximum concurrency. */
  concurrency: number;
  /**
   * Each receive's long poll (Lambda's pollers wait the most, 20 s). A message sent meanwhile
   * is answered at once; a shorter wait only costs idle requests, ten loops of them.
   */
  waitTimeSeconds?: number;
  /** The poller's own Logger (failures of its own, not the function's). */
  log?: Logger;
}): SqsPoller {
  const controller = new AbortController();
  const poller = {
    ...options,
    log: options.log ?? standInLogger("sqs-poller", options.functionName),
  };
  const loops = Array.from({ length: options.concurrency }, () =>
    pollLoop(poller, controller.signal),
  );
  return {
    async stop() {
      controller.abort();
      await Promise.allSettled(loops);
    },
  };
}

type PollerOptions = Parameters<typeof startSqsPoller>[0] & { log: Logger };

async function pollLoop(options: PollerOptions, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    let messages: Message[];
    try {
      const out = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: options.batchSize,
          WaitTimeSeconds: options.waitTimeSeconds ?? 20,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
        { abortSignal: signal },
      );
      messages = out.Messages ?? [];
    } catch (err) {
      if (signal.aborted) return;
      options.log.error("receive failed", err as Error);
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    if (messages.length === 0) continue;
    await invoke(options, messages);
  }
}

async function invoke(options: PollerOptions, messages: Message[]): Promise<void> {
  const event: SQSEvent = { Records: messages.map((m) => toRecord(m, options.queueArn)) };
  let failed: Set<string>;
  try {
    const result = await options.handler(event, localContext(options.functionName), {
      signal: new AbortController().signal,
    });
    failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  } catch (err) {
    // A thrown error fails the whole batch: nothing is deleted.
    options.log.error("the function failed", err as Error);
    return;
  }
  const done = messages.filter((m) => m.MessageId && !failed.has(m.MessageId));
  if (done.length === 0) return;
  try {
    await options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  } catch (err) {
    // As with Lambda's event source: undeleted messages come back, and steps are idempotent.
    options.log.error("delete failed", err as Error);
  }
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp:
        attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: "us-east-1",
  };
}
