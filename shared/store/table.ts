import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { TABLE } from "../config/resources";
import type { DynamoTransport } from "./dynamo-transport";

export type Item = Record<string, unknown>;
export type ItemKey = {
  pk: string;
  sk: string;
};

/** Expression parts in DynamoDB's own syntax; values are plain JS and marshalled here. */
export interface Expression {
  names?: Record<string, string>;
  values?: Record<string, unknown>;
}

export interface UpdateRequest extends Expression {
  update: string;
  condition?: string;
  returnValues?: "ALL_NEW" | "ALL_OLD" | "UPDATED_NEW" | "NONE";
}

export interface QueryRequest extends Expression {
  index?: typeof TABLE.gsi1.name;
  keyCondition: string;
  filter?: string;
  limit?: number;
  /** Newest first when false. */
  ascending?: boolean;
  startKey?: Item;
  consistent?: boolean;
}

export type TransactOp =
  | {
      put: Item;
      condition?: string;
      names?: Record<string, string>;
      values?: Record<string, unknown>;
    }
  | ({ key: ItemKey } & UpdateRequest)
  | {
      delete: ItemKey;
      condition?: string;
      names?: Record<string, string>;
      values?: Record<string, unknown>;
    };

/** A conditional write whose condition did not hold. */
export class ConditionFailed extends Error {
  constructor(readonly reasons: string[] = []) {
    super("The conditional request failed");
    this.name = "ConditionFailed";
  }
}

/**
 * The single sluice table, with plain-object items, over any DynamoDB transport. Counts
 * round trips so the benchmarks can report DynamoDB calls per request.
 */
export class Table {
  /** Round trips to DynamoDB made by every Table in this process. */
  static calls = 0;

  constructor(
    readonly transport: DynamoTransport,
    readonly name: string,
  ) {}

  async get<T = Item>(key: ItemKey, consistent = false): Promise<T | undefined> {
    const out = await this.send("GetItem", {
      TableName: this.name,
      Key: marshalItem(key),
      ConsistentRead: consistent,
    });
    return out.Item ? (unmarshalItem(out.Item as Record<string, AttributeValue>) as T) : undefined;
  }

  async put(item: Item, condition?: { condition: string } & Expression): Promise<void> {
    await this.send("PutItem", {
      TableName: this.name,
      Item: marshalItem(item),
      ...conditionParams(condition?.condition, condition),
    });
  }

  async update<T = Item>(key: ItemKey, request: UpdateRequest): Promise<T | undefined> {
    const out = await this.send("UpdateItem", {
      TableName: this.name,
      Key: marshalItem(key),
      UpdateExpression: request.update,
      ReturnValues: request.returnValues ?? "NONE",
      ...conditionParams(request.condition, request),
    });
    return out.Attributes
      ? (unmarshalItem(out.Attributes as Record<string, AttributeValue>) as T)
      : undefined;
  }

  async delete(key: ItemKey, condition?: { condition: string } & Expression): Promise<void> {
    await this.send("DeleteItem", {
      TableName: this.name,
      Key: marshalItem(key),
      ...conditionParams(condition?.condition, condition),
    });
  }

  async query<T = Item>(request: QueryRequest): Promise<{ items: T[]; lastKey?: Item }> {
    const out = await this.send("Query", {
      TableName: this.name,
      IndexName: request.index,
      KeyConditionExpression: request.keyCondition,
      FilterExpression: request.filter,
      ExpressionAttributeNames: request.names,
      ExpressionAttributeValues: request.values ? marshalItem(request.values) : undefined,
      Limit: request.limit,
      ScanIndexForward: request.ascending ?? true,
      ExclusiveStartKey: request.startKey ? marshalItem(request.startKey) : undefined,
      ConsistentRead: request.index ? undefined : request.consistent,
    });
    const items = (out.Items ?? []) as Record<string, AttributeValue>[];
    const lastKey = out.LastEvaluatedKey as Record<string, AttributeValue> | undefined;
    return {
      items: items.map((item) => unmarshalItem(item) as T),
      lastKey: lastKey ? unmarshalItem(lastKey) : undefined,
    };
  }

  /** Every item of a partition, following pages. For small partitions only (channels, keys). */
  async queryAll<T = Item>(request: Omit<QueryRequest, "startKey" | "limit">): Promise<T[]> {
    const items: T[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.query<T>({ ...request, startKey });
      items.push(...page.items);
      startKey = page.lastKey;
    } while (startKey);
    return items;
  }

  /** All or nothing, in one round trip. */
  async transact(ops: TransactOp[]): Promise<void> {
    const items = ops.map((op) => {
      if ("put" in op) {
        return {
          Put: {
            TableName: this.name,
            Item: marshalItem(op.put),
            ...conditionParams(op.condition, op),
          },
        };
      }
      if ("delete" in op) {
        return {
          Delete: {
            TableName: this.name,
            Key: marshalItem(op.delete),
            ...conditionParams(op.condition, op),
          },
        };
      }
      return {
        Update: {
          TableName: this.name,
          Key: marshalItem(op.key),
          UpdateExpression: op.update,
          ...conditionParams(op.condition, op),
        },
      };
    });
    // Transactions on an item that another write is touching are cancelled with
    // TransactionConflict: admin actions rarely meet one, but chunks finishing at once all
    // update their batch item. Retry with growing, jittered waits so they do not meet again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send("TransactWriteItems", { TransactItems: items });
        return;
      } catch (err) {
        const conflict =
          err instanceof ConditionFailed
            ? false
            : cancellationReasons(err).includes("TransactionConflict");
        if (!conflict || attempt === 8) throw err;
        const wait = 20 * 2 ** (attempt - 1) * (0.5 + Math.random());
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** One round trip; DynamoDB's conditional-check failures become ConditionFailed. */
  private async send(
    operation: Parameters<DynamoTransport["send"]>[0],
    input: Record<string, unknown>,
  ) {
    Table.calls++;
    try {
      return await this.transport.send(operation, input);
    } catch (err) {
      throw translate(err);
    }
  }
}

function conditionParams(condition: string | undefined, expression: Expression | undefined) {
  return {
    ConditionExpression: condition,
    ExpressionAttributeNames: expression?.names,
    ExpressionAttributeValues: expression?.values ? marshalItem(expression.values) : undefined,
  };
}

function cancellationReasons(err: unknown): string[] {
  const reasons =
    (err as { CancellationReasons?: { Code?: string }[] } | undefined)?.CancellationReasons ?? [];
  return reasons.map((r) => r.Code ?? "None");
}

function translate(err: unknown): unknown {
  const name = (err as Error | undefined)?.name;
  if (name === "ConditionalCheckFailedException") return new ConditionFailed();
  if (name === "TransactionCanceledException") {
    const reasons = cancellationReasons(err);
    if (reasons.includes("ConditionalCheckFailed")) return new ConditionFailed(reasons);
  }
  return err;
}

export function marshalItem(item: Item): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(item)) {
    if (value !== undefined) out[name] = marshal(value);
  }
  return out;
}

export function unmarshalItem(item: Record<string, AttributeValue>): Item {
  const out: Item = {};
  for (const [name, value] of Object.entries(item)) out[name] = unmarshal(value);
  return out;
}

function marshal(value: unknown): AttributeValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case "string":
      return { S: value };
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`cannot store ${value} in DynamoDB`);
      return { N: String(value) };
    case "boolean":
      return { BOOL: value };
    case "object":
      if (value instanceof Uint8Array) return { B: value };
      if (Array.isArray(value)) return { L: value.map(marshal) };
      return { M: marshalItem(value as Item) };
    default:
      throw new TypeError(`cannot store a ${typeof value} in DynamoDB`);
  }
}

function unmarshal(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL) return null;
  if (value.L) return value.L.map(unmarshal);
  if (value.M) return unmarshalItem(value.M);
  if (value.B) return value.B;
  if (value.SS) return value.SS;
  if (value.NS) return value.NS.map(Number);
  throw new TypeError("unsupported DynamoDB attribute type");
}
