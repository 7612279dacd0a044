import { Duration } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { JANITOR } from "../../shared/config/resources";
import type { Files } from "./file-bucket";
import {
  type FunctionRuntime,
  fromProjectRoot,
  nodeFunctionDefaults,
  resourceEnvironment,
  runtimeProps,
  SOURCE_MAPS_ENV,
} from "./function-defaults";
import type { Store } from "./store";

export interface JanitorProps {
  store: Store;
  runtime: FunctionRuntime;
  files: Files;
  /** The batch queue; the janitor only enqueues onto it (finalize steps for expired batches). */
  queue: IQueue;
}

/** The janitor Lambda and the EventBridge schedule that runs it: expires batches and files. */
export class Janitor extends Construct {
  readonly function: NodejsFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: JanitorProps) {
    super(scope, id);

    this.function = new NodejsFunction(this, "Function", {
      ...nodeFunctionDefaults,
      entry: fromProjectRoot("functions/janitor/handler.ts"),
      timeout: Duration.seconds(JANITOR.timeoutSeconds),
      memorySize: JANITOR.memoryMiB,
      ...runtimeProps(this, props.runtime, {
        ...resourceEnvironment({
          store: props.store,
          bucket: props.files.bucket,
          queue: props.queue,
        }),
        ...SOURCE_MAPS_ENV,
      }),
    });

    this.rule = new Rule(this, "Schedule", {
      description: "Runs the sluice janitor",
      schedule: Schedule.rate(Duration.minutes(JANITOR.scheduleMinutes)),
      targets: [new LambdaFunction(this.function)],
    });

    props.store.grantReadWriteData(this.function);
    // It only deletes expired files' objects.
    props.files.grantDeleteFiles(this.function);
    props.queue.grantSendMessages(this.function);
  }
}
