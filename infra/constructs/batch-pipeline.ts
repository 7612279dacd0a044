import { Duration } from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { BATCH_QUEUE, BATCH_WORKER } from "../../shared/config/resources";
import type { Files } from "./file-bucket";
import {
  type FunctionRuntime,
  fromProjectRoot,
  nodeFunctionDefaults,
  resourceEnvironment,
  runtimeProps,
  SOURCE_MAPS_ENV,
  sideBundles,
} from "./function-defaults";
import type { Store } from "./store";

export interface BatchPipelineProps {
  store: Store;
  runtime: FunctionRuntime;
  files: Files;
}

/** The batch queue, its dead-letter queue and the worker Lambda that consumes it. */
export class BatchPipeline extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly worker: NodejsFunction;

  constructor(scope: Construct, id: string, props: BatchPipelineProps) {
    super(scope, id);

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      retentionPeriod: Duration.days(BATCH_QUEUE.deadLetterRetentionDays),
      enforceSSL: true,
    });
    this.queue = new Queue(this, "Queue", {
      // At least 6 x the worker timeout, so a message is not redelivered while still in work.
      visibilityTimeout: Duration.seconds(BATCH_QUEUE.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(BATCH_QUEUE.retentionDays),
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: BATCH_QUEUE.maxReceiveCount,
      },
      enforceSSL: true,
    });

    this.worker = new NodejsFunction(this, "Worker", {
      ...nodeFunctionDefaults,
      bundling: {
        ...nodeFunctionDefaults.bundling,
        // Batch lines run through the API's routes: the lazy dependencies go beside this bundle too.
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: sideBundles,
        },
      },
      entry: fromProjectRoot("functions/batch-worker/handler.ts"),
      timeout: Duration.seconds(BATCH_WORKER.timeoutSeconds),
      memorySize: BATCH_WORKER.memoryMiB,
      ...runtimeProps(this, props.runtime, {
        ...resourceEnvironment({
          store: props.store,
          bucket: props.files.bucket,
          queue: this.queue,
        }),
        ...SOURCE_MAPS_ENV,
      }),
    });
    this.worker.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: BATCH_WORKER.batchSize,
        // Only the failed messages of a batch are redelivered.
        reportBatchItemFailures: true,
        // Caps concurrent workers: the global throttle on batch traffic.
        maxConcurrency: BATCH_WORKER.maxConcurrency,
      }),
    );

    props.store.grantReadWriteData(this.worker);
    props.files.grantReadWrite(this.worker);
    // The event source grants consumption; the worker also enqueues follow-up steps.
    this.queue.grantSendMessages(this.worker);
  }
}
