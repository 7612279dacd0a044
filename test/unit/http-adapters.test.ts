import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DynamoHttpTransport } from "../../functions/adapters/dynamodb-http";
import { upstreamHttpFetch } from "../../functions/adapters/upstream-http";
import { RequestNotSent } from "../../shared/relay/upstream";
import { DynamoServiceError } from "../../shared/store/dynamo-transport";

let server: Server | undefined;
afterEach(
  () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
);

async function serve(
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<string> {
  const started = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handler(req, Buffer.concat(chunks).toString(), res));
  });
  server = started;
  await new Promise<void>((resolve) => started.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
}

const dynamoError = (res: ServerResponse, type: string, extra: Record<string, unknown> = {}) => {
  res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
  res.end(
    JSON.stringify({
      __type: `com.amazonaws.dynamodb.v20120810#${type}`,
      message: `${type} happened`,
      ...extra,
    }),
  );
};

function transport(endpoint: string) {
  return new DynamoHttpTransport({
    region: "us-east-1",
    endpoint,
    credentials: () => ({ accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "token" }),
  });
}

describe("DynamoHttpTransport", () => {
  it("sends a signed JSON-protocol request and returns DynamoDB's answer", async () => {
    const seen: IncomingMessage[] = [];
    const url = await serve((req, body, res) => {
      seen.push(req);
      expect(JSON.parse(body)).toEqual({ TableName: "t", Key: { pk: { S: "a" } } });
      res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
      res.end('{"Item":{"pk":{"S":"a"}}}');
    });
    const client = transport(url);
    expect(await client.send("GetItem", { TableName: "t", Key: { pk: { S: "a" } } })).toEqual({
      Item: { pk: { S: "a" } },
    });
    const headers = seen[0]?.headers ?? {};
    expect(headers["x-amz-target"]).toBe("DynamoDB_20120810.GetItem");
    expect(headers["content-type"]).toBe("application/x-amz-json-1.0");
    expect(headers["x-amz-security-token"]).toBe("token");
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    client.destroy();
  });

  it("retries throttling and answers once DynamoDB does", async () => {
    let calls = 0;
    const url = await serve((_req, _body, res) => {
      if (++calls < 3) return dynamoError(res, "ThrottlingException");
      res.writeHead(200);
      res.end("{}");
    });
    const client = transport(url);
    expect(await client.send("UpdateItem", {})).toEqual({});
    expect(calls).toBe(3);
    client.destroy();
  });

  it("does not retry a failed condition, and names the error as the AWS SDK does", async () => {
    let calls = 0;
    const url = await serve((_req, _body, res) => {
      calls++;
      dynamoError(res, "ConditionalCheckFailedException");
    });
    const client = transport(url);
    const error = await client.send("UpdateItem", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamoServiceError);
    expect(error).toMatchObject({
      name: "ConditionalCheckFailedException",
      message: "ConditionalCheckFailedException happened",
    });
    expect(calls).toBe(1);
    client.destroy();
  });

  it("keeps a cancelled transaction's reasons", async () => {
    const url = await serve((_req, _body, res) =>
      dynamoError(res, "TransactionCanceledException", {
        CancellationReasons: [{ Code: "None" }, { Code: "ConditionalCheckFailed" }],
      }),
    );
    const client = transport(url);
    const error = (await client
      .send("TransactWriteItems", {})
      .catch((e: unknown) => e)) as DynamoServiceError;
    expect(error.name).toBe("TransactionCanceledException");
    expect(error.CancellationReasons).toEqual([
      { Code: "None" },
      { Code: "ConditionalCheckFailed" },
    ]);
    client.destroy();
  });
});

describe("upstreamHttpFetch", () => {
  const fetch = upstreamHttpFetch();

  it("answers like fetch: status, headers, a body to iterate or read whole", async () => {
    const url = await serve((req, body, res) => {
      res.writeHead(201, { "content-type": "text/plain", "x-seen": `${req.method} ${body}` });
      res.write("hel");
      res.end("lo");
    });
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "ping",
    });
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get("X-Seen")).toBe("POST ping");
    expect(response.headers.get("missing")).toBeNull();
    expect(await response.text()).toBe("hello");
  });

  it("rejects when aborted before the answer, and fails the body when aborted during it", async () => {
    let release!: () => void;
    const url = await serve((req, _body, res) => {
      if (req.url === "/slow") return; // never answers
      res.writeHead(200);
      res.write("first");
      release = () => res.end("rest");
    });
    const early = new AbortController();
    const pending = fetch(`${url}/slow`, { method: "GET", headers: {}, signal: early.signal });
    early.abort(new Error("gave up"));
    await expect(pending).rejects.toThrow("gave up");

    const late = new AbortController();
    const response = await fetch(url, { method: "GET", headers: {}, signal: late.signal });
    const chunks: string[] = [];
    const reading = (async () => {
      for await (const chunk of response.body ?? []) {
        chunks.push(Buffer.from(chunk).toString());
        late.abort();
      }
    })();
    await expect(reading).rejects.toThrow();
    expect(chunks).toEqual(["first"]);
    release();
  });

  it("says when the request was written; a connection refused before that is a RequestNotSent", async () => {
    const url = await serve((_req, body, res) => res.end(body));
    let sent = 0;
    const response = await fetch(url, {
      method: "POST",
      headers: {},
      body: "ping",
      onSent: () => sent++,
    });
    expect(await response.text()).toBe("ping");
    expect(sent).toBe(1);

    const closed = await new Promise<string>((resolve) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(`http://127.0.0.1:${port}`));
      });
    });
    let neverSent = 0;
    const refused = await fetch(closed, {
      method: "POST",
      headers: {},
      body: "ping",
      onSent: () => neverSent++,
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RequestNotSent);
    expect(neverSent).toBe(0);
  });

  it("a connection the upstream drops after the request was written is not a RequestNotSent", async () => {
    const url = await serve((req) => req.socket.destroy());
    let sent = 0;
    const dropped = await fetch(url, {
      method: "POST",
      headers: {},
      body: "ping",
      onSent: () => sent++,
    }).catch((e: unknown) => e);
    expect(sent).toBe(1);
    expect(dropped).toBeInstanceOf(Error);
    expect(dropped).not.toBeInstanceOf(RequestNotSent);
  });

  it("sends a multipart form it has encoded, boundary and all", async () => {
    const url = await serve((req, body, res) => {
      res.end(JSON.stringify({ type: req.headers["content-type"], body }));
    });
    const form = new FormData();
    form.set("model", "whisper-1");
    form.set("file", new Blob([new Uint8Array([1, 2, 3])]), "a.wav");
    const answer = JSON.parse(
      await (await fetch(url, { method: "POST", headers: {}, body: form })).text(),
    );
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(answer.type)?.[1];
    expect(boundary).toBeTruthy();
    expect(answer.body).toContain(`--${boundary}`);
    expect(answer.body).toContain('name="model"\r\n\r\nwhisper-1');
    expect(answer.body).toContain('filename="a.wav"');
  });
});
