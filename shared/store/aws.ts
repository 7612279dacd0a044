import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { RESOURCE_ENV } from "../config/resources";

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
