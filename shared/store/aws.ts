import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { RESOURCE_ENV } from "../config/resources";
import { loadSettings } from "../config/settings";
import { JobQueue } from "../queue/queue";
import { createServices, type Services } from "../services";
import { Blobs } from "./blobs";
import { Table } from "./table";

/**
 * AWS SDK clients are created once per process and reused across invocations, so their
 * keep-alive connections survive between requests. Locally the emulators' endpoints come in
 * through the environment.
 */
export function createDynamoClient(env: NodeJS.ProcessEnv = process.env): DynamoDBClient {
  const endpoint = env[RESOURCE_ENV.dynamoEndpoint];
  return new DynamoDBClient(endpoint ? { endpoint, maxAttempts: 3 } : { maxAttempts: 3 });
}

export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env[RESOURCE_ENV.awsEndpoint];
  // The emulator serves buckets by path, not by virtual host.
  return new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
}

export function createSqsClient(env: NodeJS.ProcessEnv = process.env): SQSClient {
  const endpoint = env[RESOURCE_ENV.awsEndpoint];
  return new SQSClient(endpoint ? { endpoint } : {});
}

/** Every service, on the AWS resources the environment names (the functions' entry point). */
export function createAwsServices(env: NodeJS.ProcessEnv = process.env): Services {
  return createServices({
    table: new Table(createDynamoClient(env), requireEnv(RESOURCE_ENV.table, env)),
    blobs: new Blobs(createS3Client(env), requireEnv(RESOURCE_ENV.bucket, env)),
    queue: new JobQueue(createSqsClient(env), requireEnv(RESOURCE_ENV.queueUrl, env)),
    settings: loadSettings(env),
  });
}
