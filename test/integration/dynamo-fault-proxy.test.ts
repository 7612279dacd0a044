import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { type AddressInfo, connect } from "node:net";
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { DynamoHttpTransport } from "../../functions/adapters/dynamodb-http";
import {
  type DynamoFaultProxy,
  matchers,
  startDynamoFaultProxy,
} from "../fixtures/dynamo-fault-proxy";
import { sluice } from "./support";

const TABLE = "fault-proxy";

type Key = { pk: { S: string }; sk: { S: string } };

function sdkClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
}

function newKey(prefix: string): Key {
  return { pk: { S: `${prefix}#${randomUUID()}` }, sk: { S: "item" } };
}

const putItem = (key: Key, extra: Record<string, AttributeValue> = {}) =>
  new PutItemCommand({ TableName: TABLE, Item: { ...key, ...extra } });
const getItem = (key: Key) => new GetItemCommand({ TableName: TABLE, Key: key });

/** What a request's promise settled with, or "pending" if it has not within `ms`. */
async function stateAfter(promise: Promise<unknown>, ms: number): Promise<string> {
  const pending = new Promise<string>((resolve) => setTimeout(() => resolve("pending"), ms));
  return Promise.race([
    promise.then(
      () => "resolved",
      () => "rejected",
    ),
    pending,
  ]);
}

async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error("expected the request to fail");
}

describe("dynamo fault proxy in front of DynamoDB Local", { timeout: 30_000 }, () => {
  let proxy: DynamoFaultProxy;
  let viaProxy: DynamoDBClient;
  let direct: DynamoDBClient;

  /** The item as DynamoDB holds it, read around the proxy. */
  async function stored(key: Key): Promise<Record<string, AttributeValue> | undefined> {
    const out = await direct.send(
      new GetItemCommand({ TableName: TABLE, Key: key, ConsistentRead: true }),
    );
    return out.Item;
  }

  beforeAll(async () => {
    // The run's DynamoDB Local, with a table of this file's own.
    proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    viaProxy = sdkClient(proxy.endpoint);
    direct = sdkClient(sluice.dynamoEndpoint);
    await viaProxy.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }),
    );
    expect(proxy.log.map((entry) => entry.operation)).toEqual(["CreateTable"]);
  }, 120_000);

  afterAll(async () => {
    viaProxy?.destroy();
    direct?.destroy();
    await proxy?.close();
  });

  beforeEach(() => {
    proxy.thaw();
    proxy.clear();
  });

  it("forwards requests and logs each one: operation, body, status", async () => {
    const key = newKey("plain");
    await viaProxy.send(putItem(key, { n: { N: "1" } }));
    expect((await viaProxy.send(getItem(key))).Item).toEqual({ ...key, n: { N: "1" } });
    const page = await viaProxy.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": key.pk },
      }),
    );
    expect(page.Count).toBe(1);
    expect(proxy.log).toEqual([
      {
        operation: "PutItem",
        body: { TableName: TABLE, Item: { ...key, n: { N: "1" } } },
        status: 200,
      },
      { operation: "GetItem", body: { TableName: TABLE, Key: key }, status: 200 },
      { operation: "Query", body: expect.objectContaining({ TableName: TABLE }), status: 200 },
    ]);
  });

  it("drop-answer: the write lands, the client gets a network error", async () => {
    const key = newKey("drop-answer");
    proxy.inject({ match: matchers.putInto(key.pk.S), fault: { kind: "drop-answer" } });
    const err = await failure(viaProxy.send(putItem(key)));
    // No answer at all: a socket error, not a DynamoDB error with a status.
    expect(err).toMatchObject({ code: "ECONNRESET" });
    expect(err.$metadata).not.toHaveProperty("httpStatusCode");
    expect(await stored(key)).toEqual(key);
    expect(proxy.log).toEqual([
      { operation: "PutItem", body: expect.anything(), fault: "drop-answer", status: 200 },
    ]);
    // Only that connection died: the next request goes through.
    expect((await viaProxy.send(getItem(key))).Item).toEqual(key);
  });

  it("drop-request: the write never reaches DynamoDB", async () => {
    const key = newKey("drop-request");
    proxy.inject({ match: matchers.putInto(key.pk.S), fault: { kind: "drop-request" } });
    expect(await failure(viaProxy.send(putItem(key)))).toMatchObject({ code: "ECONNRESET" });
    expect(await stored(key)).toBeUndefined();
    expect(proxy.log).toEqual([
      { operation: "PutItem", body: expect.anything(), fault: "drop-request" },
    ]);
  });

  it("error: the client gets DynamoDB's error type and status, and nothing is written", async () => {
    const throttled = newKey("throttled");
    const failed = newKey("failed");
    proxy.inject({
      match: matchers.putInto(throttled.pk.S),
      fault: { kind: "error", status: 400, type: "ThrottlingException" },
    });
    proxy.inject({
      match: matchers.putInto(failed.pk.S),
      fault: { kind: "error", status: 500, type: "InternalServerError", message: "boom" },
    });
    expect(await failure(viaProxy.send(putItem(throttled)))).toMatchObject({
      name: "ThrottlingException",
      $metadata: { httpStatusCode: 400 },
    });
    expect(await failure(viaProxy.send(putItem(failed)))).toMatchObject({
      name: "InternalServerError",
      message: "boom",
      $metadata: { httpStatusCode: 500 },
    });
    expect(await stored(throttled)).toBeUndefined();
    expect(await stored(failed)).toBeUndefined();
    expect(proxy.log.map((entry) => [entry.fault, entry.status])).toEqual([
      ["error", 400],
      ["error", 500],
    ]);
  });

  it("freeze: the request waits, unforwarded, until thaw", async () => {
    const key = newKey("freeze");
    proxy.inject({ match: matchers.putInto(key.pk.S), fault: { kind: "freeze" } });
    const put = viaProxy.send(putItem(key));
    await vi.waitFor(() => expect(proxy.held).toBe(1), { timeout: 10_000 });
    expect(await stateAfter(put, 200)).toBe("pending");
    expect(await stored(key)).toBeUndefined();
    proxy.thaw();
    await put;
    expect(proxy.held).toBe(0);
    expect(await stored(key)).toEqual(key);
    expect(proxy.log).toEqual([
      { operation: "PutItem", body: expect.anything(), fault: "freeze", status: 200 },
    ]);
  });

  it("freeze(): an outage holds every request; a client that gives up is never forwarded", async () => {
    const key = newKey("outage");
    proxy.freeze();
    const err = await failure(
      viaProxy.send(putItem(key), { abortSignal: AbortSignal.timeout(300) }),
    );
    expect(err.name).toBe("AbortError");
    await vi.waitFor(() => expect(proxy.held).toBe(0), { timeout: 10_000 });
    // Still frozen: this one waits.
    const get = viaProxy.send(getItem(key));
    await vi.waitFor(() => expect(proxy.held).toBe(1), { timeout: 10_000 });
    proxy.thaw();
    expect((await get).Item).toBeUndefined();
    expect(await stored(key)).toBeUndefined();
    expect(proxy.log.map((entry) => [entry.operation, entry.status])).toEqual([
      ["PutItem", undefined],
      ["GetItem", 200],
    ]);
  });

  it("drop-answer destroys only its own connection: a request held on another completes", async () => {
    const held = newKey("held");
    const lost = newKey("lost");
    proxy.inject({ match: matchers.putInto(held.pk.S), fault: { kind: "freeze" } });
    proxy.inject({ match: matchers.putInto(lost.pk.S), fault: { kind: "drop-answer" } });
    const heldPut = viaProxy.send(putItem(held));
    await vi.waitFor(() => expect(proxy.held).toBe(1), { timeout: 10_000 });
    expect(await failure(viaProxy.send(putItem(lost)))).toMatchObject({ code: "ECONNRESET" });
    proxy.thaw();
    await heldPut;
    expect(await stored(held)).toEqual(held);
    expect(await stored(lost)).toEqual(lost);
  });

  it("delay: the request is forwarded late", async () => {
    const key = newKey("delay");
    proxy.inject({ match: matchers.operation("GetItem"), fault: { kind: "delay", ms: 300 } });
    const started = performance.now();
    await viaProxy.send(getItem(key));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(proxy.log[0]).toMatchObject({ operation: "GetItem", fault: "delay", status: 200 });
  });

  it("times counts down; rules apply in order; Infinity never runs out", async () => {
    const key = newKey("times");
    const throttle = { kind: "error", status: 400, type: "ThrottlingException" } as const;
    proxy.inject({ match: matchers.operation("GetItem"), fault: throttle, times: 2 });
    proxy.inject({
      match: matchers.operation("GetItem"),
      fault: { kind: "error", status: 500, type: "InternalServerError" },
    });
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      names.push(
        await viaProxy.send(getItem(key)).then(
          () => "ok",
          (err: Error) => err.name,
        ),
      );
    }
    expect(names).toEqual([
      "ThrottlingException",
      "ThrottlingException",
      "InternalServerError",
      "ok",
    ]);

    proxy.clear();
    proxy.inject({ match: matchers.operation("GetItem"), fault: throttle, times: Infinity });
    for (let i = 0; i < 3; i++) {
      expect((await failure(viaProxy.send(getItem(key)))).name).toBe("ThrottlingException");
    }
    expect(proxy.log.map((entry) => entry.fault)).toEqual(["error", "error", "error"]);
  });

  it("matchers: updates(name) sees through #placeholders, partition() into transactions", () => {
    const update = {
      operation: "UpdateItem",
      body: {
        Key: { pk: { S: "usage#1" }, sk: { S: "day" } },
        UpdateExpression: "SET #spent = #spent + :spent, calls = calls + :one",
        ExpressionAttributeNames: { "#spent": "spent" },
      },
    };
    expect(matchers.updates("spent")(update)).toBe(true);
    expect(matchers.updates("calls")(update)).toBe(true);
    expect(matchers.updates("one")(update)).toBe(false);
    expect(matchers.updates("#spent")(update)).toBe(false);
    const transaction = {
      operation: "TransactWriteItems",
      body: {
        TransactItems: [
          { Put: { Item: { pk: { S: "batch#1" }, sk: { S: "x" } } } },
          { Update: { Key: { pk: { S: "user#1" } }, UpdateExpression: "ADD spent :n" } },
        ],
      },
    };
    expect(matchers.updates("spent")(transaction)).toBe(true);
    expect(matchers.partition("user#")(transaction)).toBe(true);
    expect(matchers.partition("batch#")(transaction)).toBe(true);
    expect(matchers.partition("key#")(transaction)).toBe(false);
    expect(matchers.putInto("batch#")(transaction)).toBe(false);
    expect(matchers.partition("usage#")(update)).toBe(true);
    expect(
      matchers.all(matchers.operation("UpdateItem"), matchers.partition("user#"))(update),
    ).toBe(false);
  });

  /*
   * What DynamoHttpTransport does today when the answer to a conditional UpdateItem is lost
   * after DynamoDB applied it (observed against DynamoDB Local through this proxy):
   * the socket error counts as retryable, so it sends the same UpdateItem again. Then either
   *  - the first write falsified the condition: the retry fails with
   *    ConditionalCheckFailedException, so the caller sees a failed write that in fact landed; or
   *  - the condition still holds after the first write: the retry applies it a second time
   *    (a debit of 40 from 100 leaves 20), and the caller sees one success.
   * This is the bug the proxy exists to expose; these tests pin today's behaviour.
   */
  describe("DynamoHttpTransport on a lost answer to a conditional UpdateItem", () => {
    let transport: DynamoHttpTransport;
    beforeAll(() => {
      transport = new DynamoHttpTransport({
        region: "us-east-1",
        endpoint: proxy.endpoint,
        credentials: () => ({ accessKeyId: "local", secretAccessKey: "local" }),
        maxAttempts: 3,
      });
    });
    afterAll(() => transport?.destroy());

    async function account(prefix: string): Promise<Key> {
      const key = newKey(prefix);
      await direct.send(putItem(key, { balance: { N: "100" }, version: { N: "1" } }));
      proxy.inject({
        match: matchers.all(matchers.updates("balance"), matchers.partition(key.pk.S)),
        fault: { kind: "drop-answer" },
      });
      return key;
    }

    it("retries; the retry meets the condition the first write falsified", async () => {
      const key = await account("versioned");
      const err = await failure(
        transport.send("UpdateItem", {
          TableName: TABLE,
          Key: key,
          UpdateExpression: "SET balance = balance - :amount, version = :next",
          ConditionExpression: "version = :current",
          ExpressionAttributeValues: {
            ":amount": { N: "40" },
            ":current": { N: "1" },
            ":next": { N: "2" },
          },
        }),
      );
      expect(err.name).toBe("ConditionalCheckFailedException");
      // ...yet the write landed, once.
      expect(await stored(key)).toMatchObject({ balance: { N: "60" }, version: { N: "2" } });
      expect(proxy.log.map((entry) => [entry.operation, entry.fault, entry.status])).toEqual([
        ["UpdateItem", "drop-answer", 200],
        ["UpdateItem", undefined, 400],
      ]);
    });

    it("retries; the retry applies the update a second time", async () => {
      const key = await account("debit");
      await transport.send("UpdateItem", {
        TableName: TABLE,
        Key: key,
        UpdateExpression: "SET balance = balance - :amount",
        ConditionExpression: "balance >= :amount",
        ExpressionAttributeValues: { ":amount": { N: "40" } },
      });
      // One successful call, two debits.
      expect(await stored(key)).toMatchObject({ balance: { N: "20" } });
      expect(proxy.log.map((entry) => [entry.operation, entry.fault, entry.status])).toEqual([
        ["UpdateItem", "drop-answer", 200],
        ["UpdateItem", undefined, 200],
      ]);
    });
  });
});

describe("dynamo fault proxy, on the wire", () => {
  /** Sends raw bytes over a fresh connection and returns everything the proxy answers. */
  function exchange(endpoint: string, raw: string): Promise<string> {
    const { hostname, port } = new URL(endpoint);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.write(raw));
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("error", reject);
      socket.on("close", () => resolve(Buffer.concat(chunks).toString()));
    });
  }

  it("forwards exact bytes and headers (host as sent), answers unchanged, survives garbage", async () => {
    const seen: { method?: string; url?: string; rawHeaders: string[]; body: string }[] = [];
    const target = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const { method, url, rawHeaders } = req;
        seen.push({ method, url, rawHeaders, body: Buffer.concat(chunks).toString() });
        res.sendDate = false;
        res.writeHead(418, {
          "X-Answer": "yes",
          "Content-Type": "text/plain",
          "Content-Length": 15,
        });
        res.end("short and stout");
      });
    });
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    const proxy = await startDynamoFaultProxy(
      `http://127.0.0.1:${(target.address() as AddressInfo).port}`,
    );
    try {
      proxy.inject({
        match: () => {
          throw new Error("a broken matcher");
        },
        fault: { kind: "drop-request" },
      });
      const body = "not json {";
      const answer = await exchange(
        proxy.endpoint,
        [
          "POST /some/path?x=1 HTTP/1.1",
          "Host: dynamodb.us-east-1.amazonaws.com",
          "X-Amz-Target: DynamoDB_20120810.PutItem",
          "authorization: AWS4-HMAC-SHA256 Credential=x",
          `Content-Length: ${body.length}`,
          "Connection: close",
          "",
          body,
        ].join("\r\n"),
      );
      expect(seen).toEqual([
        {
          method: "POST",
          url: "/some/path?x=1",
          rawHeaders: [
            "Host",
            "dynamodb.us-east-1.amazonaws.com",
            "X-Amz-Target",
            "DynamoDB_20120810.PutItem",
            "authorization",
            "AWS4-HMAC-SHA256 Credential=x",
            "Content-Length",
            String(body.length),
            "Connection",
            "close",
          ],
          body,
        },
      ]);
      // Byte for byte what the target sent (no Date or other header of the proxy's own).
      expect(answer).toBe(
        "HTTP/1.1 418 I'm a Teapot\r\nX-Answer: yes\r\nContent-Type: text/plain\r\n" +
          "Content-Length: 15\r\nConnection: close\r\n\r\nshort and stout",
      );
      // A malformed request gets Node's 400; the proxy carries on.
      expect(await exchange(proxy.endpoint, "GARBAGE\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
      const again = await exchange(
        proxy.endpoint,
        "GET / HTTP/1.1\r\nHost: anywhere\r\nConnection: close\r\n\r\n",
      );
      expect(again).toMatch(/^HTTP\/1\.1 418 /);
      expect(proxy.log).toEqual([
        { operation: "PutItem", body: {}, status: 418 },
        { operation: "", body: {}, status: 418 },
      ]);
    } finally {
      await proxy.close();
      await new Promise((resolve) => target.close(resolve));
    }
  });
});
