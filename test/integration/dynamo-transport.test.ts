import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { DynamoHttpTransport } from "../../functions/adapters/dynamodb-http";
import { createTable } from "../../infra/local/resources";
import { randomString } from "../../shared/auth/secrets";
import { sdkTransport } from "../../shared/store/dynamo-transport";
import { dynamoTransportContract } from "../fixtures/dynamo-contract";
import { sluice } from "./support";

/**
 * DynamoDB Local, through the AWS SDK and through the functions' lean HTTP client, answers
 * the contract's cases: what the in-memory transport (unit/memory-dynamo.test.ts) is held to.
 */
const tableName = `sluice-contract-${randomString(10)}`;
const client = new DynamoDBClient({
  endpoint: sluice.dynamoEndpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});
const sdk = sdkTransport(client);
const lean = new DynamoHttpTransport({
  region: "us-east-1",
  endpoint: sluice.dynamoEndpoint,
  credentials: () => ({ accessKeyId: "local", secretAccessKey: "local" }),
});

beforeAll(() => createTable(client, tableName));
afterAll(() => {
  lean.destroy?.();
  client.destroy();
});

dynamoTransportContract("DynamoDB Local, AWS SDK", () => ({ transport: sdk, tableName }));
dynamoTransportContract("DynamoDB Local, lean HTTP client", () => ({ transport: lean, tableName }));
