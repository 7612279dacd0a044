import { Duration } from "aws-cdk-lib";
import { FilterCriteria, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Construct } from "constructs";
import { RESOURCE_ENV, USAGE_ROLLUP } from "../../shared/config/resources";
import { NODEMAILER } from "../side-bundles";
import {
  type FunctionRuntime,
  fromProjectRoot,
  nodeFunctionDefaults,
  runtimeProps,
  SOURCE_MAPS_ENV,
  sideBundles,
} from "./function-defaults";
import type { Store } from "./store";

/**
 * The Lambda that adds the usage log up into the daily rollups and the keys' counters,
 * fed by the log table's stream: only new lines of calls reach it (an event filter), in
 * batches gathered for up to USAGE_ROLLUP.maxBatchingWindowSeconds, so each counter is
 * written once per batch, off the request path.
 */
export class UsageRollup extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: { store: Store; runtime: FunctionRuntime }) {
    super(scope, id);

    this.function = new NodejsFunction(this, "Function", {
      ...nodeFunctionDefaults,
      bundling: {
        ...nodeFunctionDefaults.bundling,
        // Low-balance notices go out over SMTP when the operator chose it (stream e-mail).
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) =>
            sideBundles(inputDir, outputDir, [NODEMAILER.name]),
        },
      },
      entry: fromProjectRoot("functions/usage-rollup/handler.ts"),
      timeout: Duration.seconds(USAGE_ROLLUP.timeoutSeconds),
      memorySize: USAGE_ROLLUP.memoryMiB,
      ...runtimeProps(this, props.runtime, {
        [RESOURCE_ENV.table]: props.store.table.tableName,
        ...SOURCE_MAPS_ENV,
      }),
    });
    this.function.addEventSource(
      new DynamoEventSource(props.store.logTable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: USAGE_ROLLUP.batchSize,
        maxBatchingWindow: Duration.seconds(USAGE_ROLLUP.maxBatchingWindowSeconds),
        filters: [FilterCriteria.filter(USAGE_ROLLUP.filter)],
      }),
    );
    // It adds to counters and writes the site log's digests in the main table; it reads the
    // profiles and accounts of users with a low-balance threshold (stream e-mail).
    props.store.table.grant(
      this.function,
      "dynamodb:UpdateItem",
      "dynamodb:PutItem",
      "dynamodb:GetItem",
      "dynamodb:Query",
    );
  }
}
