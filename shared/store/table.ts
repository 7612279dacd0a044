import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { TABLE } from "../config/resources";
import { StoreUnavailable } from "../errors";
import { type DynamoTransport, TRANSIENT_ERRORS } from "./dynamo-transport";

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
  /** On a failed condition, DynamoDB says what the item was (ConditionFailed.item). */
  explainFailure?: boolean;
}

export interface ConditionalWrite extends Expression {
  condition: string;
  explainFailure?: boolean;
}

/** A conditional delete that may hand back the item it deleted (ReturnValues ALL_OLD). */
export interface ConditionalDelete extends ConditionalWrite {
  returnOld?: boolean;
}

export interface QueryRequest extends Expression {
  index?: typeof TABLE.gsi1.name | typeof TABLE.holdsIndex.name;
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
    }
  | {
      /** Writes nothing: the transaction goes through only if this item meets `condition`. */
      check: ItemKey;
      condition: string;
      names?: Record<string, string>;
      values?: Record<string, unknown>;
    };

/**
 * The assignments of a write that sets plain fields, `#f0 = :v0, …` (fields left undefined
 * are left alone), with their names and values: any attribute name is safe, reserved words
 * too. With `removeNull`, a field given as null is removed instead (`removals`). Join them
 * into the write's own SET (and REMOVE) clause; its other placeholders must not be #f<n> or
 * :v<n>.
 */
export function setFields(
  fields: Record<string, unknown>,
  options: { removeNull?: boolean } = {},
): {
  assignments: string[];
  removals: string[];
  names: Record<string, string>;
  values: Record<string, unknown>;
} {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const assignments: string[] = [];
  const removals: string[] = [];
  Object.entries(fields).forEach(([field, value], i) => {
    if (value === undefined) return;
    names[`#f${i}`] = field;
    if (value === null && options.removeNull) {
      removals.push(`#f${i}`);
    } else {
      values[`:v${i}`] = value;
      assignments.push(`#f${i} = :v${i}`);
    }
  });
  return { assignments, removals, names, values };
}

/**
 * A conditional write whose condition did not hold. `item` is the item as it was, when the
 * write asked for it: it tells a write that had already landed (a retry after a lost answer)
 * from one that was refused.
 */
export class ConditionFailed extends Error {
  constructor(
    readonly reasons: string[] = [],
    readonly item?: Item,
  ) {
    super("The conditional request failed");
    this.name = "ConditionFailed";
  }
}

/**
 * The single sluice table, with plain-object items, over any DynamoDB transport. Counts
 * round trips (and, when `measure` is on, the capacity units DynamoDB reports) so the
 * benchmarks can report DynamoDB calls and write units per request.
 */
export class Table {
  /** Round trips to DynamoDB made by every Table in this process. */
  static calls = 0;
  /** Ask DynamoDB for consumed capacity (ReturnConsumedCapacity: INDEXES) and add it up here. */
  static measure = false;
  /** Capacity units DynamoDB reported, by the label of the Table that spent them. */
  static readonly capacity: Record<string, { read: number; write: number }> = {};

  constructor(
    readonly transport: DynamoTransport,
    readonly name: string,
    /** Whose calls these are, for `capacity` (the benchmarks tell requests from rollups). */
    readonly label = "requests",
  ) {}

  async get<T = Item>(key: ItemKey, consistent = false): Promise<T | undefined> {
    const out = await this.send("GetItem", {
      TableName: this.name,
      Key: marshalItem(key),
      ConsistentRead: consistent,
    });
    return out.Item ? (unmarshalItem(out.Item as Record<string, AttributeValue>) as T) : undefined;
  }

  async put(item: Item, condition?: ConditionalWrite): Promise<void> {
    await this.send("PutItem", {
      TableName: this.name,
      Item: marshalItem(item),
      ...conditionParams(condition?.condition, condition),
    });
  }

  /**
   * Puts a new item, on condition that none has its key (ConditionFailed otherwise). For items
   * that only their writer can write the same (a random key or field in them): see putOnce.
   */
  create(item: Item): Promise<void> {
    return this.putOnce(item, { condition: "attribute_not_exists(pk)" });
  }

  /**
   * A conditional put (ConditionFailed when the condition does not hold). The transport sends
   * a write again when its answer was lost: a retry whose first attempt had landed finds the
   * very item it wrote, and that counts as written. For items that only their writer writes
   * the same, so that an equal item is this write's own.
   */
  async putOnce(item: Item, condition: ConditionalWrite): Promise<void> {
    try {
      await this.put(item, { ...condition, explainFailure: true });
    } catch (err) {
      const landed =
        err instanceof ConditionFailed &&
        err.item !== undefined &&
        isDeepStrictEqual(err.item, unmarshalItem(marshalItem(item)));
      if (!landed) throw err;
    }
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

  /** Deletes the item; with `returnOld`, hands back what was deleted (none if there was none). */
  async delete<T = Item>(key: ItemKey, condition?: ConditionalDelete): Promise<T | undefined> {
    const out = await this.send("DeleteItem", {
      TableName: this.name,
      Key: marshalItem(key),
      ...(condition?.returnOld ? { ReturnValues: "ALL_OLD" } : {}),
      ...conditionParams(condition?.condition, condition),
    });
    return out.Attributes
      ? (unmarshalItem(out.Attributes as Record<string, AttributeValue>) as T)
      : undefined;
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

  /**
   * The items a query finds that `keep` keeps, in its order, at most `limit`. Through an index
   * (which holds keys only, so balance writes never write them) the items are read after;
   * `keep` filters here rather than in DynamoDB. Reads on until `limit` items are kept, the
   * query ends, or (with `budget`) about that many items were read. `resumeAfter`, when more
   * may follow, is where the next page starts: the page's last item, or the last one read when
   * the budget ran out first (a filter that keeps few of many items answers in pages).
   */
  async keptItems<T = Item>(
    request: Omit<QueryRequest, "limit" | "filter">,
    limit: number,
    keep: (item: T) => boolean = () => true,
    budget = Number.POSITIVE_INFINITY,
  ): Promise<{ items: T[]; hasMore: boolean; resumeAfter?: T }> {
    const items: T[] = [];
    let startKey = request.startKey;
    let readCount = 0;
    let lastRead: T | undefined;
    do {
      const page = await this.query<T & ItemKey>({
        ...request,
        startKey,
        limit: Math.min(1_000, limit + 1 - items.length, Math.max(1, budget - readCount)),
      });
      const read = request.index
        ? await this.batchGet<T>(page.items.map(({ pk, sk }) => ({ pk, sk })))
        : page.items;
      readCount += page.items.length;
      lastRead = read.at(-1) ?? lastRead;
      items.push(...read.filter(keep));
      startKey = page.lastKey;
    } while (startKey && items.length <= limit && readCount < budget);
    if (items.length > limit)
      return { items: items.slice(0, limit), hasMore: true, resumeAfter: items[limit - 1] };
    return startKey && lastRead
      ? { items, hasMore: true, resumeAfter: lastRead }
      : { items, hasMore: false };
  }

  /** Items by key, in the order asked (missing ones left out); 100 keys per round trip. */
  async batchGet<T = Item>(keys: ItemKey[], consistent = false): Promise<T[]> {
    const found = new Map<string, T>();
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Record<string, AttributeValue>[] = keys.slice(i, i + 100).map(marshalItem);
      for (let attempt = 1; pending.length > 0; attempt++) {
        const out = await this.send("BatchGetItem", {
          RequestItems: { [this.name]: { Keys: pending, ConsistentRead: consistent } },
        });
        const items = ((out.Responses as Record<string, unknown[]> | undefined)?.[this.name] ??
          []) as Record<string, AttributeValue>[];
        for (const raw of items) {
          const item = unmarshalItem(raw);
          found.set(`${item.pk}|${item.sk}`, item as T);
        }
        const unprocessed = (
          out.UnprocessedKeys as Record<string, { Keys?: Record<string, AttributeValue>[] }>
        )?.[this.name]?.Keys;
        pending = unprocessed ?? [];
        // DynamoDB hands back what it could not read this time (throttling): ask again, slower.
        if (pending.length > 0) {
          if (attempt === 8) throw new StoreUnavailable("BatchGetItem");
          await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        }
      }
    }
    return keys.flatMap((key) => {
      const item = found.get(`${key.pk}|${key.sk}`);
      return item ? [item] : [];
    });
  }

  /**
   * All or nothing, in one round trip. A client request token makes every retry of it
   * (ours after a conflict, the transport's after a lost answer) idempotent for ten minutes.
   */
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
      const keyed = (key: ItemKey) => ({
        TableName: this.name,
        Key: marshalItem(key),
        ...conditionParams(op.condition, op),
      });
      if ("check" in op) return { ConditionCheck: keyed(op.check) };
      if ("delete" in op) return { Delete: keyed(op.delete) };
      return {
        Update: {
          TableName: this.name,
          Key: marshalItem(op.key),
          UpdateExpression: op.update,
          ...conditionParams(op.condition, op),
        },
      };
    });
    const token = randomUUID();
    // Transactions on an item that another write is touching are cancelled with
    // TransactionConflict: admin actions rarely meet one, but chunks finishing at once all
    // update their batch item. Retry with growing, jittered waits so they do not meet again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send("TransactWriteItems", { TransactItems: items, ClientRequestToken: token });
        return;
      } catch (err) {
        const conflict =
          err instanceof StoreUnavailable &&
          cancellationReasons(err.cause).includes("TransactionConflict");
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
      const out = await this.transport.send(
        operation,
        Table.measure ? { ...input, ReturnConsumedCapacity: "INDEXES" } : input,
      );
      if (Table.measure) count(this.label, operation, out.ConsumedCapacity);
      return out;
    } catch (err) {
      throw translate(err, operation);
    }
  }
}

const READS = new Set(["GetItem", "Query", "BatchGetItem"]);

function count(label: string, operation: string, consumed: unknown): void {
  const entries = (Array.isArray(consumed) ? consumed : [consumed]) as (
    | { CapacityUnits?: number }
    | undefined
  )[];
  const units = entries.reduce((sum, entry) => sum + (entry?.CapacityUnits ?? 0), 0);
  const spent = Table.capacity[label] ?? { read: 0, write: 0 };
  Table.capacity[label] = spent;
  if (READS.has(operation)) spent.read += units;
  else spent.write += units;
}

function conditionParams(
  condition: string | undefined,
  expression: (Expression & { explainFailure?: boolean }) | undefined,
) {
  return {
    ConditionExpression: condition,
    ExpressionAttributeNames: expression?.names,
    ExpressionAttributeValues: expression?.values ? marshalItem(expression.values) : undefined,
    ...(condition && expression?.explainFailure
      ? { ReturnValuesOnConditionCheckFailure: "ALL_OLD" }
      : {}),
  };
}

function cancellationReasons(err: unknown): string[] {
  const reasons =
    (err as { CancellationReasons?: { Code?: string }[] } | undefined)?.CancellationReasons ?? [];
  return reasons.map((r) => r.Code ?? "None");
}

/**
 * DynamoDB's errors in the core's terms: a failed condition, an outage (after the
 * transport's own retries: throttling, 5xx, a connection that failed or timed out), or, for
 * anything else (a malformed request: a bug), the error as it is.
 */
function translate(err: unknown, operation: string): unknown {
  const name = (err as Error | undefined)?.name ?? "";
  if (name === "ConditionalCheckFailedException") {
    const old = (err as { Item?: Record<string, AttributeValue> }).Item;
    return new ConditionFailed([], old ? unmarshalItem(old) : undefined);
  }
  if (name === "TransactionCanceledException") {
    const reasons = cancellationReasons(err);
    if (reasons.includes("ConditionalCheckFailed")) return new ConditionFailed(reasons);
    if (
      reasons.some(
        (reason) => TRANSIENT_ERRORS.has(`${reason}Exception`) || reason === "TransactionConflict",
      )
    )
      return new StoreUnavailable(operation, err);
  }
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (TRANSIENT_ERRORS.has(name) || (status !== undefined && status >= 500)) {
    return new StoreUnavailable(operation, err);
  }
  // No answer at all: the connection failed or the attempt timed out.
  if (isNetworkError(err)) return new StoreUnavailable(operation, err);
  return err;
}

function isNetworkError(err: unknown): boolean {
  const { name, code } = (err ?? {}) as { name?: string; code?: string };
  return (
    name === "TimeoutError" ||
    name === "AbortError" ||
    name === "DynamoAttemptTimeout" ||
    (typeof code === "string" &&
      /^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)/.test(code))
  );
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
