import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** The DynamoDB operations sluice uses (wire names of the JSON protocol). */
export type DynamoOperation =
  | "GetItem"
  | "PutItem"
  | "UpdateItem"
  | "DeleteItem"
  | "Query"
  | "BatchGetItem"
  | "TransactWriteItems";

/**
 * Sends one DynamoDB request: input and output are the JSON of DynamoDB's own protocol
 * (the same shapes the AWS SDK's commands take). Two implementations: the AWS SDK client
 * (tools, tests), and a lean signed HTTP client for the functions' hot path.
 */
export interface DynamoTransport {
  send(
    operation: DynamoOperation,
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
  destroy?(): void;
}

/**
 * DynamoDB's errors worth another try, as the AWS SDK's standard retry strategy has them: the
 * service may recover by itself. Once the transport's retries are spent, they are an outage.
 */
export const TRANSIENT_ERRORS: ReadonlySet<string> = new Set([
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "LimitExceededException",
  "TransactionConflictException",
  "TransactionInProgressException",
]);

/**
 * An error DynamoDB answered with. `name` is its short type (ConditionalCheckFailedException,
 * TransactionCanceledException, …), as the AWS SDK names its errors too.
 */
export class DynamoServiceError extends Error {
  constructor(
    name: string,
    message: string,
    readonly CancellationReasons?: { Code?: string }[],
    /** The item as it was, when a failed condition asked for it (ALL_OLD). */
    readonly Item?: Record<string, unknown>,
    readonly $metadata?: { httpStatusCode?: number },
  ) {
    super(message);
    this.name = name;
  }
}

/** The AWS SDK's client behind the transport interface; its commands load on first use. */
export function sdkTransport(client: DynamoDBClient): DynamoTransport {
  return {
    async send(operation, input) {
      const sdk = await import("@aws-sdk/client-dynamodb");
      const Command = {
        GetItem: sdk.GetItemCommand,
        PutItem: sdk.PutItemCommand,
        UpdateItem: sdk.UpdateItemCommand,
        DeleteItem: sdk.DeleteItemCommand,
        Query: sdk.QueryCommand,
        BatchGetItem: sdk.BatchGetItemCommand,
        TransactWriteItems: sdk.TransactWriteItemsCommand,
      }[operation] as new (
        input: never,
      ) => Parameters<DynamoDBClient["send"]>[0];
      return (await client.send(new Command(input as never))) as unknown as Record<string, unknown>;
    },
    destroy: () => client.destroy(),
  };
}
