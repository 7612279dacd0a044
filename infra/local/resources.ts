import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { BATCH_QUEUE, LOCAL_RESOURCE_NAMES, TABLE } from "../../shared/config/resources";

export interface LocalResources {
  tableName: string;
  bucketName: string;
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
}

/** Creates the CDK stack's table, bucket and queues on the emulators (idempotently). */
export async function createLocalResources(
  clients: { dynamo: DynamoDBClient; s3: S3Client; sqs: SQSClient },
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<LocalResources> {
  const names = LOCAL_RESOURCE_NAMES;
  await createTable(clients.dynamo, names.table);
  await clients.s3.send(new CreateBucketCommand({ Bucket: names.bucket }));

  const dlq = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.deadLetterQueue,
      Attributes: { MessageRetentionPeriod: String(BATCH_QUEUE.deadLetterRetentionDays * 86_400) },
    }),
  );
  const dlqArn = await queueArn(clients.sqs, dlq.QueueUrl as string);
  const queue = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.queue,
      Attributes: {
        VisibilityTimeout: String(
          options.visibilityTimeoutSeconds ?? BATCH_QUEUE.visibilityTimeoutSeconds,
        ),
        MessageRetentionPeriod: String(BATCH_QUEUE.retentionDays * 86_400),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount ?? BATCH_QUEUE.maxReceiveCount,
        }),
      },
    }),
  );
  return {
    tableName: names.table,
    bucketName: names.bucket,
    queueUrl: queue.QueueUrl as string,
    queueArn: await queueArn(clients.sqs, queue.QueueUrl as string),
    deadLetterQueueUrl: dlq.QueueUrl as string,
  };
}

async function createTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, gsi1, ttlAttribute, stream } = TABLE;
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [partitionKey, sortKey, gsi1.partitionKey, gsi1.sortKey].map(
          (name) => ({
            AttributeName: name,
            AttributeType: "S",
          }),
        ),
        KeySchema: [
          { AttributeName: partitionKey, KeyType: "HASH" },
          { AttributeName: sortKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: gsi1.name,
            KeySchema: [
              { AttributeName: gsi1.partitionKey, KeyType: "HASH" },
              { AttributeName: gsi1.sortKey, KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: stream },
      }),
    );
    await dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      }),
    );
  } catch (err) {
    // Already there: SLUICE_DATA_DIR keeps the table between runs.
    if (!(err instanceof ResourceInUseException)) throw err;
    await ensureStream(dynamo, tableName);
  }
}

/** A table kept from a run before it had a stream (or another view type) gets the stream now. */
async function ensureStream(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  const out = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
  const current = out.Table?.StreamSpecification;
  if (current?.StreamEnabled && current.StreamViewType === TABLE.stream) return;
  // As on AWS, a stream's view type cannot change: the old stream is disabled, a new one made.
  if (current?.StreamEnabled) {
    await dynamo.send(
      new UpdateTableCommand({
        TableName: tableName,
        StreamSpecification: { StreamEnabled: false },
      }),
    );
  }
  await dynamo.send(
    new UpdateTableCommand({
      TableName: tableName,
      StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE.stream },
    }),
  );
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  return out.Attributes?.QueueArn as string;
}
