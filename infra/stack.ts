import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { Api } from "./constructs/api";
import { BatchPipeline } from "./constructs/batch-pipeline";
import { Files } from "./constructs/files";
import { Janitor } from "./constructs/janitor";
import { Store } from "./constructs/store";

/** All of sluice on AWS: table, bucket, batch queue and worker, the API and the janitor. */
export class SluiceStack extends Stack {
  readonly store: Store;
  readonly files: Files;
  readonly batch: BatchPipeline;
  readonly api: Api;
  readonly janitor: Janitor;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.store = new Store(this, "Store");
    this.files = new Files(this, "Files");
    this.batch = new BatchPipeline(this, "Batch", { table: this.store.table, files: this.files });
    this.api = new Api(this, "Api", {
      table: this.store.table,
      files: this.files,
      queue: this.batch.queue,
    });
    this.janitor = new Janitor(this, "Janitor", {
      table: this.store.table,
      files: this.files,
      queue: this.batch.queue,
    });

    new CfnOutput(this, "FunctionUrl", {
      value: this.api.url.url,
      description: "Base URL of the API",
    });
    new CfnOutput(this, "TableName", { value: this.store.table.tableName });
    new CfnOutput(this, "BucketName", { value: this.files.bucket.bucketName });
    new CfnOutput(this, "BatchQueueUrl", { value: this.batch.queue.queueUrl });
  }
}
