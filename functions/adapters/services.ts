import type { Logger } from "@aws-lambda-powertools/logger";
import { environmentCredentials } from "../../shared/aws/sigv4";
import type { Clock } from "../../shared/clock";
import { RESOURCE_ENV } from "../../shared/config/resources";
import { loadSettings } from "../../shared/config/settings";
import type { Services } from "../../shared/services";
import { createAwsServices, requireEnv } from "../../shared/store/aws";
import { Table } from "../../shared/store/table";
import { DynamoHttpTransport } from "./dynamodb-http";
import { upstreamHttpFetch } from "./upstream-http";

/**
 * The services every function runs on: the AWS resources its environment names, reached
 * through the lean DynamoDB and upstream clients. Created once per Lambda instance. The
 * function's Logger writes to stdout at the settings' level unless one is given (the local
 * stack gives each function its own); a test may pin the clock rate limits' windows follow.
 */
export function functionServices(
  env: NodeJS.ProcessEnv = process.env,
  options: { rateClock?: () => number; log?: Logger; clock?: Clock } = {},
): Services {
  return createAwsServices(env, {
    dynamo: dynamoTransport(env),
    fetch: upstreamHttpFetch(),
    rateClock: options.rateClock,
    log: options.log,
    clock: options.clock,
  });
}

/** Only the table, for a function that needs nothing else (the usage rollups). */
export function functionTable(env: NodeJS.ProcessEnv = process.env, label?: string): Table {
  return new Table(dynamoTransport(env), requireEnv(RESOURCE_ENV.table, env), label);
}

function dynamoTransport(env: NodeJS.ProcessEnv): DynamoHttpTransport {
  return new DynamoHttpTransport({
    region: env.AWS_REGION ?? "us-east-1",
    endpoint: env[RESOURCE_ENV.dynamoEndpoint],
    credentials: environmentCredentials(env),
    attemptTimeoutMs: loadSettings(env).dynamoAttemptTimeoutMs,
  });
}
