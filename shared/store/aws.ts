import { join } from "node:path";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { environmentCredentials } from "../aws/sigv4";
import type { Clock } from "../clock";
import { RESOURCE_ENV } from "../config/resources";
import { loadSettings } from "../config/settings";
import { KmsSecretBox, type SecretBox } from "../crypto/secret-box";
import { JobQueue } from "../queue/queue";
import type { UpstreamFetch } from "../relay/upstream";
import { createServices, type Services } from "../services";
import { ConsoleFiles } from "../web/console-files";
import { Blobs } from "./blobs";
import { type DynamoTransport, sdkTransport } from "./dynamo-transport";
import { Table } from "./table";

/**
 * AWS SDK clients, created once per process and reused across invocations so that their
 * keep-alive connections survive between requests. Locally the emulators' endpoints come in
 * through the environment.
 */
export async function createDynamoClient(
  env: NodeJS.ProcessEnv = process.env,
): Promise<DynamoDBClient> {
  const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
  const endpoint = env[RESOURCE_ENV.dynamoEndpoint];
  return new DynamoDBClient(endpoint ? { endpoint, maxAttempts: 3 } : { maxAttempts: 3 });
}

export async function createS3Client(env: NodeJS.ProcessEnv = process.env): Promise<S3Client> {
  const { S3Client } = await import("@aws-sdk/client-s3");
  const endpoint = env[RESOURCE_ENV.awsEndpoint];
  // The emulator serves buckets by path, not by virtual host.
  return new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
}

export async function createSqsClient(env: NodeJS.ProcessEnv = process.env): Promise<SQSClient> {
  const { SQSClient } = await import("@aws-sdk/client-sqs");
  const endpoint = env[RESOURCE_ENV.awsEndpoint];
  return new SQSClient(endpoint ? { endpoint } : {});
}

export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/**
 * Every service, on the AWS resources the environment names. The functions pass their lean
 * DynamoDB and upstream clients (without them the AWS SDK and fetch are used) and their
 * Logger. S3 and SQS load on first use.
 */
export function createAwsServices(
  env: NodeJS.ProcessEnv = process.env,
  clients: {
    dynamo?: DynamoTransport;
    fetch?: UpstreamFetch;
    rateClock?: () => number;
    log?: Logger;
    /** What time it is for the services (a test's clock; the system's unless given). */
    clock?: Clock;
  } = {},
): Services {
  const dynamo = clients.dynamo ?? lazySdkTransport(env);
  return createServices({
    table: new Table(dynamo, requireEnv(RESOURCE_ENV.table, env)),
    logTable: new Table(dynamo, requireEnv(RESOURCE_ENV.logTable, env)),
    blobs: new Blobs(
      once(() => createS3Client(env)),
      requireEnv(RESOURCE_ENV.bucket, env),
    ),
    queue: new JobQueue(
      once(() => createSqsClient(env)),
      requireEnv(RESOURCE_ENV.queueUrl, env),
    ),
    settings: loadSettings(env),
    fetch: clients.fetch,
    rateClock: clients.rateClock,
    log: clients.log,
    clock: clients.clock,
    consoleFiles: consoleDirectory(env),
    secretBox: secretBox(env),
    adapterContext: { awsCredentials: environmentCredentials(env) },
  });
}

/**
 * Where the built console is: SLUICE_CONSOLE_DIR (the local stack builds it there), else
 * `console/` beside the function's bundle on Lambda (infra/constructs/api.ts puts it there).
 */
function consoleDirectory(env: NodeJS.ProcessEnv): ConsoleFiles | undefined {
  const dir =
    env.SLUICE_CONSOLE_DIR ?? (env.LAMBDA_TASK_ROOT && join(env.LAMBDA_TASK_ROOT, "console"));
  return dir ? new ConsoleFiles(dir) : undefined;
}

function lazySdkTransport(env: NodeJS.ProcessEnv): DynamoTransport {
  const transport = once(async () => sdkTransport(await createDynamoClient(env)));
  return { send: async (operation, input) => (await transport()).send(operation, input) };
}

/** Creates the value on first call, and returns the same promise after. */
function once<T>(create: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= create();
    return value;
  };
}

/** KMS where the stack names a key for channel keys; locally none, and they are kept as given. */
function secretBox(env: NodeJS.ProcessEnv): SecretBox | undefined {
  const keyId = env[RESOURCE_ENV.channelKey];
  if (!keyId) return undefined;
  return new KmsSecretBox(
    once(async () => {
      const { KMSClient } = await import("@aws-sdk/client-kms");
      return new KMSClient({});
    }),
    keyId,
  );
}
