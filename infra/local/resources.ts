import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { BATCH_QUEUE, LOCAL_RESOURCE_NAMES, LOG_TABLE, TABLE } from "../../shared/config/resources";

export interface LocalResources {
  tableName: string;
  logTableName: string;
  bucketName: string;
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
}

/** Creates the CDK stack's tables, bucket and queues on the emulators (idempotently). */
export async function createLocalResources(
  clients: { dynamo: DynamoDBClient; s3: S3Client; sqs: SQSClient },
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<LocalResources> {
  const names = LOCAL_RESOURCE_NAMES;
  await createTable(clients.dynamo, names.table);
  await createLogTable(clients.dynamo, names.logTable);
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
    logTableName: names.logTable,
    bucketName: names.bucket,
    queueUrl: queue.QueueUrl as string,
    queueArn: await queueArn(clients.sqs, queue.QueueUrl as string),
    deadLetterQueueUrl: dlq.QueueUrl as string,
  };
}

/** The main table, as the CDK stack defines it (idempotent); tests make spare ones. */
export async function createTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, gsi1, holdsIndex, ttlAttribute } = TABLE;
  const indexes = [gsi1, holdsIndex];
  await createIfMissing(
    dynamo,
    {
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        partitionKey,
        sortKey,
        ...indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
      ].map((name) => ({ AttributeName: name, AttributeType: "S" })),
      KeySchema: [
        { AttributeName: partitionKey, KeyType: "HASH" },
        { AttributeName: sortKey, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: "HASH" },
          { AttributeName: index.sortKey, KeyType: "RANGE" },
        ],
        // Keys only: the items are read after, so balance writes never write an index.
        Projection: { ProjectionType: "KEYS_ONLY" },
      })),
    },
    ttlAttribute,
  );
}

/** The usage log's table, with the stream the rollups read. */
async function createLogTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, ttlAttribute, stream } = LOG_TABLE;
  await createIfMissing(
    dynamo,
    {
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [partitionKey, sortKey].map((name) => ({
        AttributeName: name,
        AttributeType: "S",
      })),
      KeySchema: [
        { AttributeName: partitionKey, KeyType: "HASH" },
        { AttributeName: sortKey, KeyType: "RANGE" },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: stream },
    },
    ttlAttribute,
  );
}

async function createIfMissing(
  dynamo: DynamoDBClient,
  table: CreateTableCommandInput,
  ttlAttribute: string,
): Promise<void> {
  try {
    await dynamo.send(new CreateTableCommand(table));
    await dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: table.TableName,
        TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      }),
    );
  } catch (err) {
    // Already there: SLUICE_DATA_DIR keeps the tables between runs.
    if (!(err instanceof ResourceInUseException)) throw err;
    if (table.StreamSpecification) await ensureStream(dynamo, table.TableName as string);
  }
}

/** A log table kept from a run before it had a stream (or another view type) gets the stream now. */
async function ensureStream(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  const out = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
  const current = out.Table?.StreamSpecification;
  if (current?.StreamEnabled && current.StreamViewType === LOG_TABLE.stream) return;
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
      StreamSpecification: { StreamEnabled: true, StreamViewType: LOG_TABLE.stream },
    }),
  );
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  return out.Attributes?.QueueArn as string;
}
