import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { Api } from "./constructs/api";
import { BatchPipeline } from "./constructs/batch-pipeline";
import { Files } from "./constructs/files";
import { Janitor } from "./constructs/janitor";
import { Store } from "./constructs/store";
import { UsageRollup } from "./constructs/usage-rollup";

/**
 * All of sluice on AWS: table, bucket, batch queue and worker, the API, the janitor and the
 * usage rollups.
 */
export class SluiceStack extends Stack {
  readonly store: Store;
  readonly files: Files;
  readonly batch: BatchPipeline;
  readonly api: Api;
  readonly janitor: Janitor;
  readonly rollup: UsageRollup;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.store = new Store(this, "Store");
    this.files = new Files(this, "Files");
    this.batch = new BatchPipeline(this, "Batch", { store: this.store, files: this.files });
    this.api = new Api(this, "Api", {
      store: this.store,
      files: this.files,
      queue: this.batch.queue,
    });
    this.janitor = new Janitor(this, "Janitor", {
      store: this.store,
      files: this.files,
      queue: this.batch.queue,
    });

    this.rollup = new UsageRollup(this, "UsageRollup", { store: this.store });

    new CfnOutput(this, "FunctionUrl", {
      value: this.api.url.url,
      description: "Base URL of the API",
    });
    new CfnOutput(this, "TableName", { value: this.store.table.tableName });
    new CfnOutput(this, "LogTableName", { value: this.store.logTable.tableName });
    new CfnOutput(this, "BucketName", { value: this.files.bucket.bucketName });
    new CfnOutput(this, "BatchQueueUrl", { value: this.batch.queue.queueUrl });
  }
}
