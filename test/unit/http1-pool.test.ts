import { readFileSync } from "node:fs";
import { Agent, createServer as createHttpServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { type Http1Answer, Http1Pool } from "../../functions/adapters/http1-pool";
import { answer, closeServers, dribble, rawServer, servers, wait } from "./raw-http";

/**
 * The DynamoDB client's connections (functions/adapters/http1-pool.ts) against node:http's
 * request() with a keep-alive agent, which it replaces on the hot path: the same exchanges,
 * answered by servers that frame their answers every way HTTP/1.1 allows, split anywhere,
 * close where they may, and break where they can, must come out the same from both.
 */

afterEach(closeServers);

const HEADERS = {
  "content-type": "application/x-amz-json-1.0",
  "x-amz-target": "DynamoDB_20120810.GetItem",
};

function pool(port: number, options: Partial<ConstructorParameters<typeof Http1Pool>[0]> = {}) {
  const made = new Http1Pool({
    https: false,
    hostname: "127.0.0.1",
    port,
    host: `127.0.0.1:${port}`,
    servername: "",
    ...options,
  });
  servers.push({ close: () => made.destroy() });
  return made;
}

/** An answer, or how the exchange failed: a broken answer, a closed connection, no answer. */
type Outcome = Http1Answer | { error: "parse" | "closed" | "timeout" | string };

function failure(err: unknown): { error: string } {
  const { code, message } = err as NodeJS.ErrnoException;
  if (code?.startsWith("HPE_")) return { error: "parse" };
  if (code === "ECONNRESET" || code === "EPIPE") return { error: "closed" };
  return { error: message };
}

function viaPool(client: Http1Pool, body: string, timeoutMs = 1_000): Promise<Outcome> {
  return client
    .post("/", HEADERS, body, timeoutMs, () => new Error("timeout"))
    .catch((err: unknown) => failure(err));
}

function nodeAgent(): Agent {
  const agent = new Agent({ keepAlive: true });
  servers.push({ close: () => agent.destroy() });
  return agent;
}

/** The same exchange through node:http's client, as the transport made it before. */
function viaNode(agent: Agent, port: number, body: string, timeoutMs = 1_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/",
        agent,
        headers: { ...HEADERS, "content-length": String(Buffer.byteLength(body)) },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", (err) => resolve(failure(err)));
      },
    );
    const timer = setTimeout(() => req.destroy(new Error("timeout")), timeoutMs);
    req.on("close", () => clearTimeout(timer));
    req.on("error", (err) => resolve(failure(err)));
    req.end(body);
  });
}

/**
 * Runs `count` exchanges one after another through each client, each against its own server
 * that answers by `respond`: the outcomes must be equal, and are returned with the servers.
 */
async function differential(
  respond: (socket: Socket, index: number) => void | Promise<void>,
  count = 3,
  gapMs = 0,
  name?: string,
) {
  const forPool = await rawServer(respond);
  const forNode = await rawServer(respond);
  const client = pool(forPool.port);
  const agent = nodeAgent();
  const fromPool: Outcome[] = [];
  const fromNode: Outcome[] = [];
  for (let i = 0; i < count; i++) {
    if (gapMs) await wait(gapMs);
    fromPool.push(await viaPool(client, `{"n":${i}}`));
    fromNode.push(await viaNode(agent, forNode.port, `{"n":${i}}`));
  }
  expect(fromPool, name).toEqual(fromNode);
  return { outcomes: fromPool, forPool, forNode };
}

describe("Http1Pool, held to node:http's client", () => {
  it("sends the request node sends, and reuses one connection for exchanges in turn", async () => {
    const { outcomes, forPool, forNode } = await differential((socket, i) => {
      socket.write(answer(`{"Item":{"n":{"N":"${i}"}}}`));
    });
    expect(outcomes).toEqual(
      [0, 1, 2].map((i) => ({ status: 200, text: `{"Item":{"n":{"N":"${i}"}}}` })),
    );
    expect(forPool.connections).toBe(1);
    expect(forNode.connections).toBe(1);
    expect(forPool.bodies).toEqual(forNode.bodies);
    // The same headers, but for node's `Connection: keep-alive` (HTTP/1.1's default anyway).
    const headersOf = (port: number) => (head: string) =>
      head
        .split("\r\n")
        .slice(1)
        .map((line) => line.toLowerCase().replace(`:${port}`, ":<port>"))
        .filter((line) => !line.startsWith("connection:"))
        .sort();
    expect(forPool.heads.map(headersOf(forPool.port))).toEqual(
      forNode.heads.map(headersOf(forNode.port)),
    );
    expect(forPool.heads[0]?.split("\r\n")[0]).toBe(forNode.heads[0]?.split("\r\n")[0]);
  });

  it("reads an answer whose head and body come a byte at a time, UTF-8 split across them", async () => {
    const body = '{"Item":{"name":{"S":"Grüße, 世界 🌍"}}}';
    const { outcomes } = await differential((socket) => dribble(socket, answer(body)), 2);
    expect(outcomes[1]).toEqual({ status: 200, text: body });
  });

  it("reads a chunked answer: odd chunk sizes, an extension, trailers, split anywhere", async () => {
    const body = '{"Items":[{"pk":{"S":"a"}},{"pk":{"S":"b"}}],"Count":2}';
    const chunks = [body.slice(0, 7), body.slice(7, 30), body.slice(30)];
    const chunked = `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${chunks
      .map((c, i) => `${Buffer.byteLength(c).toString(16)}${i === 1 ? ";ext=1" : ""}\r\n${c}\r\n`)
      .join("")}0\r\nx-trailer: yes\r\n\r\n`;
    const { outcomes, forPool } = await differential((socket, i) =>
      i === 0 ? void socket.write(chunked) : dribble(socket, chunked, 3),
    );
    expect(outcomes.every((o) => "text" in o && o.text === body)).toBe(true);
    expect(forPool.connections).toBe(1);
  });

  it("reads an answer framed by the close, and one after an interim 100 Continue", async () => {
    // The third's last coding is not chunked: its body, left as it came, ends with the close.
    const gzipLast =
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
    const { outcomes, forPool } = await differential((socket, i) => {
      if (i === 0) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n{"__type":"x#Validation"}');
      else if (i === 1) socket.write(`HTTP/1.1 100 Continue\r\n\r\n${answer("{}")}`);
      else socket.end(gzipLast);
    });
    expect(outcomes[0]).toEqual({ status: 400, text: '{"__type":"x#Validation"}' });
    expect(outcomes[1]).toEqual({ status: 200, text: "{}" });
    expect(outcomes[2]).toEqual({ status: 200, text: "2\r\n{}\r\n0\r\n\r\n" });
    expect(forPool.connections).toBe(2);
  });

  it("opens a new connection after `Connection: close`, an HTTP/1.0 answer, or a server's idle close", async () => {
    const { forPool, forNode } = await differential(
      async (socket, i) => {
        if (i === 0) socket.write(answer("{}", ["connection: close"]));
        else if (i === 1) socket.write(answer("{}").replace("HTTP/1.1", "HTTP/1.0"));
        else if (i === 2) {
          socket.write(answer("{}"));
          await wait(5);
          socket.end();
        } else socket.write(answer('{"last":true}'));
      },
      4,
      30,
    );
    expect(forPool.connections).toBe(forNode.connections);
    expect(forPool.connections).toBe(4);
  });

  it("fails, as node does, on a connection closed mid-answer or before it, and on a broken answer", async () => {
    // Broken answers are written on a connection left open: the parse, not the close, fails them.
    const broken = [
      "HTTP/1.1 2OO OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}XY\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\ncontent-length : 2\r\n\r\n{}",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n 2\r\n{}\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\n\r\n{}",
    ];
    const { outcomes } = await differential((socket, i) => {
      if (i === 0) socket.end(answer('{"cut":true}').slice(0, -4));
      else if (i === 1) socket.destroy();
      else if (i < 2 + broken.length) socket.write(broken[i - 2] as string);
      else socket.write(answer("{}"));
    }, 3 + broken.length);
    expect(outcomes.slice(0, 2)).toEqual([{ error: "closed" }, { error: "closed" }]);
    expect(outcomes.slice(2, -1)).toEqual(broken.map(() => ({ error: "parse" })));
    expect(outcomes.at(-1)).toEqual({ status: 200, text: "{}" });
  });

  it("frames and keeps connections as node does, case by case", async () => {
    const ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
    const cases: Record<string, string> = {
      "a chunk size with leading zeros":
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n000000002\r\n{}\r\n0\r\n\r\n",
      "204 without framing": "HTTP/1.1 204 No Content\r\n\r\n",
      "304 without framing": "HTTP/1.1 304 Not Modified\r\n\r\n",
      "Connection: keep-alive, close":
        "HTTP/1.1 200 OK\r\nconnection: keep-alive, close\r\ncontent-length: 2\r\n\r\n{}",
      "Connection: x-foo": "HTTP/1.1 200 OK\r\nconnection: x-foo\r\ncontent-length: 2\r\n\r\n{}",
      "HTTP/1.0 with keep-alive":
        "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\n{}",
      "Transfer-Encoding over two fields":
        "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      "a status below 100": "HTTP/1.1 099 Early\r\ncontent-length: 2\r\n\r\n{}",
      "Keep-Alive: timeout=1":
        "HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\n{}",
    };
    for (const [name, first] of Object.entries(cases)) {
      const { outcomes, forPool, forNode } = await differential(
        (socket, i) => void socket.write(i === 0 ? first : ok),
        2,
        0,
        name,
      );
      expect(outcomes.at(-1), name).toEqual({ status: 200, text: "{}" });
      expect([name, forPool.connections]).toEqual([name, forNode.connections]);
    }
  });

  it("refuses a header value that would split the request, before sending anything", async () => {
    const server = await rawServer((socket) => void socket.write(answer("{}")));
    const client = pool(server.port);
    const sent = client.post(
      "/",
      { "x-amz-target": "a\r\nx-evil: 1" },
      "{}",
      1_000,
      () => new Error(),
    );
    await expect(sent).rejects.toThrow(/Invalid character/);
    expect(server.connections).toBe(0);
  });

  it("gives up on an exchange at its timeout with the caller's error, and recovers", async () => {
    const server = await rawServer((socket, i) => {
      if (i > 0) socket.write(answer("{}"));
    });
    const client = pool(server.port);
    await expect(
      client.post("/", HEADERS, "{}", 50, () => new Error("no answer in 50 ms")),
    ).rejects.toThrow("no answer in 50 ms");
    await wait(20);
    expect(server.open.size).toBe(0);
    expect(await viaPool(client, "{}")).toEqual({ status: 200, text: "{}" });
  });

  it("serves exchanges at once on connections of their own, then reuses them", async () => {
    const server = await rawServer(async (socket, i) => {
      await wait(5);
      socket.write(answer(`{"i":${i}}`));
    });
    const client = pool(server.port);
    const first = await Promise.all(Array.from({ length: 20 }, () => viaPool(client, "{}")));
    expect(new Set(first.map((o) => ("text" in o ? o.text : "error"))).size).toBe(20);
    expect(server.connections).toBe(20);
    await Promise.all(Array.from({ length: 20 }, () => viaPool(client, "{}")));
    expect(server.connections).toBe(20);
  });

  it("keeps no idle connection from letting the process exit", async () => {
    // An idle connection is unref'd as node's keep-alive agent leaves its free sockets.
    const server = await rawServer(async (socket, i) => {
      if (i === 1) await wait(50);
      socket.write(answer("{}"));
    });
    const client = pool(server.port);
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap");
    await wait(50); // the connections of the tests before have closed
    expect(await viaPool(client, "{}")).toEqual({ status: 200, text: "{}" });
    const idle = sockets().length;
    // In an exchange the connection holds the loop; idle, it does not.
    const second = viaPool(client, "{}");
    await wait(20);
    expect(sockets().length).toBe(idle + 1);
    expect(await second).toEqual({ status: 200, text: "{}" });
    expect(sockets().length).toBe(idle);
    expect(server.connections).toBe(1);
  });

  it("speaks TLS with the server's name (SNI), verifies its certificate, and is answered", async () => {
    const names: (string | false)[] = [];
    const server = await rawServer((socket) => {
      // The name the client asked for (node sets it on the server's socket; its types do not).
      names.push((socket as TLSSocket & { servername: string | false }).servername);
      socket.write(answer('{"tls":true}'));
    }, true);
    const ca = readFileSync("test/fixtures/tls/dynamodb-test.cert.pem", "utf8");
    const origin = { https: true, hostname: "127.0.0.1", host: "dynamodb.test" };
    const client = pool(server.port, { ...origin, servername: "dynamodb.test", ca });
    expect(await viaPool(client, "{}")).toEqual({ status: 200, text: '{"tls":true}' });
    expect(await viaPool(client, "{}")).toEqual({ status: 200, text: '{"tls":true}' });
    expect(names).toEqual(["dynamodb.test", "dynamodb.test"]);
    expect(server.connections).toBe(1);
    expect(server.heads[0]).toMatch(/\r\nhost: dynamodb\.test\r\n/);
    // A certificate for another name, or one not trusted, is refused.
    const wrongName = pool(server.port, { ...origin, servername: "other.test", ca });
    expect(await viaPool(wrongName, "{}")).toEqual({
      error: expect.stringMatching(/altnames/),
    });
    const untrusted = pool(server.port, { ...origin, servername: "dynamodb.test" });
    expect(await viaPool(untrusted, "{}")).toEqual({
      error: expect.stringMatching(/self.signed certificate/),
    });
  });

  it("streams an answer over TLS as it comes, and keeps the connection", async () => {
    // The server writes the second event only once the reader has had the first.
    let had: () => void = () => {};
    const server = await rawServer(async (socket) => {
      const first = new Promise<void>((resolve) => {
        had = resolve;
      });
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n8\r\ndata: 1\n\r\n");
      await first;
      socket.write("8\r\ndata: 2\n\r\n0\r\n\r\n");
    }, true);
    const ca = readFileSync("test/fixtures/tls/dynamodb-test.cert.pem", "utf8");
    const client = pool(server.port, {
      https: true,
      hostname: "127.0.0.1",
      host: "dynamodb.test",
      servername: "dynamodb.test",
      ca,
    });
    for (let i = 0; i < 2; i++) {
      const answered = await client.open("POST", "/", {}, "{}", {});
      let read = "";
      for await (const chunk of answered.body) {
        read += Buffer.from(chunk).toString();
        had();
      }
      expect([answered.status, read]).toEqual([200, "data: 1\ndata: 2\n"]);
    }
    expect(server.connections).toBe(1);
  });

  it("resumes the last TLS session on a new connection, and sends no name to an address", async () => {
    const seen: { name: string | false; resumed: boolean }[] = [];
    const server = await rawServer((socket) => {
      const tls = socket as TLSSocket & { servername: string | false };
      seen.push({ name: tls.servername, resumed: tls.isSessionReused() });
      // Each answer closes its connection: the next exchange connects anew.
      socket.write(answer("{}", ["connection: close"]));
    }, true);
    const ca = readFileSync("test/fixtures/tls/dynamodb-test.cert.pem", "utf8");
    const origin = { https: true, hostname: "127.0.0.1", host: "dynamodb.test", ca };
    const named = pool(server.port, { ...origin, servername: "dynamodb.test" });
    for (let i = 0; i < 3; i++) await viaPool(named, "{}");
    expect(seen.map((s) => s.name)).toEqual(["dynamodb.test", "dynamodb.test", "dynamodb.test"]);
    expect(seen.map((s) => s.resumed)).toEqual([false, true, true]);
    // An address has no name to send; its certificate is then checked against the address,
    // which this one does not name.
    const byAddress = pool(server.port, { ...origin, servername: "" });
    expect(await viaPool(byAddress, "{}")).toEqual({ error: expect.stringMatching(/IP: 127/) });
  });
});

describe("Http1Pool's own rules", () => {
  it("does not reuse a connection whose answer came with bytes after it", async () => {
    const server = await rawServer((socket, i) => {
      socket.write(i === 0 ? `${answer("{}")}HTTP/1.1 200 OK\r\n` : answer('{"next":true}'));
    });
    const client = pool(server.port);
    expect(await viaPool(client, "{}")).toEqual({ status: 200, text: "{}" });
    expect(await viaPool(client, "{}")).toEqual({ status: 200, text: '{"next":true}' });
    expect(server.connections).toBe(2);
  });

  it("closes an idle connection that receives bytes no exchange asked for", async () => {
    const server = await rawServer(async (socket, i) => {
      socket.write(answer(`{"i":${i}}`));
      if (i === 0) {
        await wait(10);
        socket.write(answer('{"stray":true}'));
      }
    });
    const client = pool(server.port);
    expect(await viaPool(client, "{}")).toEqual({ status: 200, text: '{"i":0}' });
    await wait(40);
    expect(await viaPool(client, "{}")).toEqual({ status: 200, text: '{"i":1}' });
    expect(server.connections).toBe(2);
  });

  it("ends an exchange's timer with its answer: a later exchange on the connection is not cut by it", async () => {
    const server = await rawServer(async (socket, i) => {
      if (i === 1) await wait(150);
      socket.write(answer(`{"i":${i}}`));
    });
    const client = pool(server.port);
    expect(await viaPool(client, "{}", 100)).toEqual({ status: 200, text: '{"i":0}' });
    expect(await viaPool(client, "{}", 1_000)).toEqual({ status: 200, text: '{"i":1}' });
    expect(server.connections).toBe(1);
  });

  it("opens at most 128 connections; the exchanges beyond wait their turn, within their time", async () => {
    const server = await rawServer(async (socket, i) => {
      await wait(20);
      socket.write(answer(`{"i":${i}}`));
    });
    const client = pool(server.port);
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, () => viaPool(client, "{}", 5_000)),
    );
    expect(new Set(outcomes.map((o) => ("text" in o ? o.text : o.error))).size).toBe(300);
    expect(server.connections).toBe(128);
    // One waiting past its time gives up without taking a connection from the others.
    const slow = await rawServer(async (socket) => {
      await wait(200);
      socket.write(answer("{}"));
    });
    const busy = pool(slow.port);
    const first = Array.from({ length: 128 }, () => viaPool(busy, "{}", 5_000));
    const late = await viaPool(busy, "{}", 50);
    expect(late).toEqual({ error: "timeout" });
    expect((await Promise.all(first)).every((o) => "text" in o)).toBe(true);
    expect(slow.connections).toBe(128);
  });

  it("closes the other idle connections when a reused one turns out closed by the server", async () => {
    // The server closes a connection without a word when a second request comes on it, as a
    // server that had closed it while the client slept (a Lambda freeze) is found out.
    const server = await rawServer(async (socket, i) => {
      if (i >= 3 && i < 4) return void socket.destroy();
      await wait(10);
      socket.write(answer(`{"i":${i}}`));
    });
    const client = pool(server.port);
    await Promise.all([0, 1, 2].map(() => viaPool(client, "{}")));
    expect(server.open.size).toBe(3);
    expect(await viaPool(client, "{}")).toEqual({ error: "closed" });
    await wait(20);
    expect(server.open.size).toBe(0);
    expect(await viaPool(client, "{}")).toEqual({ status: 200, text: '{"i":4}' });
    expect(server.connections).toBe(4);
  });
});

describe("Http1Pool against node's own server", () => {
  it("is answered as node's client is, over many exchanges of every size", async () => {
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const size = Number(JSON.parse(Buffer.concat(chunks).toString()).size);
        const body = JSON.stringify({ pad: "é".repeat(size) });
        // Odd sizes go with a length, the others chunked (written before the end).
        if (size % 2) {
          res.writeHead(200, { "content-length": Buffer.byteLength(body) });
          res.end(body);
        } else {
          res.write(body);
          res.end();
        }
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const client = pool(port);
    const agent = nodeAgent();
    for (const size of [0, 1, 100, 4_095, 65_536, 300_001, 300_002]) {
      const body = JSON.stringify({ size });
      expect(await viaPool(client, body)).toEqual(await viaNode(agent, port, body));
    }
  });
});
