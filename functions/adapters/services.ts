import { RESOURCE_ENV } from "../../shared/config/resources";
import type { Services } from "../../shared/services";
import { createAwsServices } from "../../shared/store/aws";
import { DynamoHttpTransport, environmentCredentials } from "./dynamodb-http";
import { nodeHttpFetch } from "./upstream-http";

/**
 * The services every function runs on: the AWS resources its environment names, reached
 * through the lean DynamoDB and upstream clients. Created once per Lambda instance.
 */
export function functionServices(env: NodeJS.ProcessEnv = process.env): Services {
  return createAwsServices(env, {
    dynamo: new DynamoHttpTransport({
      region: env.AWS_REGION ?? "us-east-1",
      endpoint: env[RESOURCE_ENV.dynamoEndpoint],
      credentials: environmentCredentials(env),
    }),
    fetch: nodeHttpFetch(),
  });
}
