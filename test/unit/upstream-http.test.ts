import { type AddressInfo, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { upstreamHttpFetch } from "../../functions/adapters/upstream-http";
import { RequestNotSent, type UpstreamFetch } from "../../shared/relay/upstream";
import { nodeHttpFetch } from "./node-upstream-fetch";
import {
  answer,
  closeServers,
  dribble,
  type RawServer,
  rawServer,
  servers,
  wait,
} from "./raw-http";

/**
 * The upstream client (functions/adapters/upstream-http.ts, over http1-pool.ts) against the
 * node:http client it replaced (./node-upstream-fetch.ts): the same calls, answered by servers
 * that stream, frame, repeat headers, cut and reset as upstreams do, must come out the same —
 * status, headers as the relay reads them, body, when the request counted as sent, whether a
 * failure left the upstream without the request, and the connections opened.
 */

afterEach(closeServers);

type Init = Parameters<UpstreamFetch>[1];

interface Call {
  path?: string;
  init: Omit<Init, "onSent">;
  /** Read the body by iterating it (as a stream is relayed) or whole. */
  read?: "iterate" | "text";
}

/** The headers the relay reads, and some it does not. */
const NAMES = [
  "content-type",
  "set-cookie",
  "x-dup",
  "retry-after",
  "x-request-id",
  "transfer-encoding",
  "missing",
];

type Outcome =
  | { status: number; headers: Record<string, string | null>; body: string; sent: number }
  | { error: "not sent" | "failed" | "body"; sent: number; body?: string; status?: number };

async function call(fetch: UpstreamFetch, base: string, { path = "/", init, read }: Call) {
  let sent = 0;
  let response: Awaited<ReturnType<UpstreamFetch>>;
  try {
    response = await fetch(`${base}${path}`, { ...init, onSent: () => sent++ });
  } catch (err) {
    return { error: err instanceof RequestNotSent ? "not sent" : "failed", sent } as Outcome;
  }
  const headers = Object.fromEntries(NAMES.map((name) => [name, response.headers.get(name)]));
  let body = "";
  try {
    if (read === "text") body = await response.text();
    else
      for await (const chunk of response.body ?? []) body += Buffer.from(chunk).toString("latin1");
  } catch {
    return { error: "body", status: response.status, body, sent } as Outcome;
  }
  return { status: response.status, headers, body, sent } as Outcome;
}

/** A request's head as the server saw it, but for node's `Connection: keep-alive` and the port. */
const headOf = (server: RawServer) => (head: string) => {
  const [line, ...fields] = head.split("\r\n");
  return [
    line,
    ...fields
      .map((field) => field.toLowerCase().replace(`:${server.port}`, ":<port>"))
      .filter((field) => !field.startsWith("connection:"))
      .sort(),
  ];
};

/**
 * Makes `calls` in turn through each client, each against its own server answering by
 * `respond`: outcomes, requests as sent and connections opened must be equal.
 */
async function differential(
  respond: (socket: Socket, index: number) => void | Promise<void>,
  calls: Call[],
  { userinfo = "" } = {},
) {
  const forPool = await rawServer(respond);
  const forNode = await rawServer(respond);
  const viaPool = upstreamHttpFetch();
  const viaNode = nodeHttpFetch();
  servers.push({ close: () => viaNode.destroy() });
  const fromPool: Outcome[] = [];
  const fromNode: Outcome[] = [];
  for (const c of calls) {
    fromPool.push(await call(viaPool, `http://${userinfo}127.0.0.1:${forPool.port}`, c));
    fromNode.push(await call(viaNode, `http://${userinfo}127.0.0.1:${forNode.port}`, c));
  }
  expect(fromPool).toEqual(fromNode);
  expect(forPool.heads.map(headOf(forPool))).toEqual(forNode.heads.map(headOf(forNode)));
  expect(forPool.bodies).toEqual(forNode.bodies);
  expect(forPool.connections).toBe(forNode.connections);
  return { outcomes: fromPool, forPool, forNode };
}

const post = (body: string, read: Call["read"] = "iterate"): Call => ({
  init: { method: "POST", headers: { "content-type": "application/json" }, body },
  read,
});

/** An event stream in chunks, as chat completions stream. */
const sse = (events: string[], headers: string[] = []) =>
  `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n${headers.map((h) => `${h}\r\n`).join("")}transfer-encoding: chunked\r\n\r\n${events
    .map((e) => `data: ${e}\n\n`)
    .map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`)
    .join("")}0\r\n\r\n`;

describe("upstreamHttpFetch, held to node:http's client", () => {
  it("streams an answer split anywhere, reads repeated headers as node does, and keeps the connection", async () => {
    const events = ['{"choices":[{"delta":{"content":"Grüße 🌍"}}]}', "[DONE]"];
    const repeated = [
      "set-cookie: a=1",
      "set-cookie: b=2",
      "x-dup: one",
      "x-dup: two",
      "content-type: text/plain",
      "retry-after: 3",
      "retry-after: 9",
      "x-request-id: req_1",
    ];
    const { outcomes, forPool } = await differential(
      (socket, i) =>
        i === 0
          ? dribble(socket, sse(events, repeated), 3)
          : void socket.write(answer(`{"n":${i}}`, ["x-request-id: req_2"])),
      [post('{"stream":true,"q":"ü"}'), post('{"n":1}', "text"), post('{"n":2}')],
    );
    expect(outcomes[0]).toMatchObject({
      status: 200,
      headers: { "content-type": "text/event-stream", "x-dup": "one, two", "retry-after": "3" },
    });
    expect(Buffer.from((outcomes[0] as { body: string }).body, "latin1").toString()).toContain(
      "Grüße 🌍",
    );
    expect(outcomes[1]).toMatchObject({ status: 200, body: '{"n":1}', sent: 1 });
    expect(forPool.connections).toBe(1);
  });

  it("sends the request node sends: bodies as text or bytes, none, Latin-1 values, a URL's user", async () => {
    const ok = (socket: Socket) => void socket.write(answer("{}"));
    const calls: Call[] = [
      post('{"prompt":"Grüße, 世界"}'),
      {
        init: {
          method: "POST",
          headers: { "X-Mixed-Case": "1" },
          body: new Uint8Array([0, 255, 7]),
        },
      },
      { path: "/v1/models?limit=2&after=a%20b", init: { method: "GET", headers: {} } },
      { path: "/v1/files/f1", init: { method: "DELETE", headers: { authorization: "Bearer k" } } },
      { init: { method: "POST", headers: {}, body: "" } },
      { init: { method: "POST", headers: { "x-name": "José" }, body: "{}" } },
      { init: { method: "GET", headers: { "x-name": "José" } } },
      { init: { method: "POST", headers: { "x-name": "José" }, body: new Uint8Array([1]) } },
    ];
    const { forPool } = await differential(ok, calls, { userinfo: "us%40er:p%3Ass@" });
    expect(forPool.heads[0]).toMatch(/^POST \/ HTTP\/1\.1\r\n/);
    expect(forPool.heads[0]).toMatch(/authorization: Basic dXNAZXI6cDpzcw==/i);
    // Where the call brings its own, the URL's user is not sent.
    expect(forPool.heads[3]).toMatch(/authorization: Bearer k/);
    // Node's own quirk, kept: a value past ASCII goes as UTF-8 with a text body, else Latin-1.
    expect(forPool.heads[5]).toContain("x-name: JosÃ©");
    expect(forPool.heads[6]).toContain("x-name: José");
  });

  it("reads answers without a body, after an interim one, framed by the close, over HTTP/1.0", async () => {
    const { outcomes, forPool } = await differential(
      (socket, i) => {
        if (i === 0) socket.write("HTTP/1.1 204 No Content\r\nx-request-id: r\r\n\r\n");
        else if (i === 1) socket.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
        else if (i === 2) socket.write(`HTTP/1.1 100 Continue\r\n\r\n${answer('{"a":1}')}`);
        else if (i === 3)
          socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end");
        else socket.write(answer("{}").replace("HTTP/1.1", "HTTP/1.0"));
      },
      [
        post("{}"),
        { init: { method: "HEAD", headers: {} } },
        post("{}", "text"),
        post("{}"),
        post("{}"),
        post("{}"),
      ],
    );
    expect(outcomes.map((o) => ("status" in o ? o.status : o))).toEqual([
      204, 200, 200, 200, 200, 200,
    ]);
    expect(outcomes[3]).toMatchObject({ body: "until the end" });
    expect(forPool.connections).toBe(3);
  });

  it("fails as node does: cut mid-answer, dropped after the request, a broken answer", async () => {
    const { outcomes } = await differential(
      (socket, i) => {
        if (i === 0) socket.end(answer('{"cut":true}').slice(0, -4));
        else if (i === 1) socket.destroy();
        else if (i === 2) socket.write("HTTP/1.1 2OO OK\r\n\r\n");
        else if (i === 3) socket.end(sse(["{}", "[DONE]"]).slice(0, -12));
        else if (i === 4) setTimeout(() => socket.destroy(), 5);
        else if (i === 5) socket.write("HTTP/1.1 200 OK\ncontent-length: 2\n\n{}");
        else socket.write(answer("{}"));
      },
      [post("{}"), post("{}"), post("{}"), post("{}"), post("{}"), post("{}"), post("{}")],
    );
    expect(outcomes.slice(0, 4)).toEqual([
      { error: "body", status: 200, body: '{"cut":t', sent: 1 },
      { error: "failed", sent: 1 },
      { error: "failed", sent: 1 },
      expect.objectContaining({ error: "body", status: 200 }),
    ]);
    // A head whose lines end in bare line feeds fails at once (not at the caller's timeout).
    expect(outcomes[5]).toEqual({ error: "failed", sent: 1 });
    expect(outcomes.at(-1)).toMatchObject({ status: 200, body: "{}" });
  });

  it("calls a request on a kept-alive connection the upstream had closed unseen not sent", async () => {
    // The second request meets a connection the server closes on reading it, unanswered.
    const { outcomes } = await differential(
      (socket, i) => (i === 1 ? void socket.end() : void socket.write(answer("{}"))),
      [post("{}"), post("{}"), post("{}")],
    );
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 200 }),
      { error: "not sent", sent: 1 },
      expect.objectContaining({ status: 200 }),
    ]);
  });

  it("closes the connection of a stream its reader leaves, and reads on for one that is slow", async () => {
    // An endless stream left after its first event; then 24 MB, more than the sockets' buffers.
    const big = "x".repeat(24 * 1024 * 1024);
    const stalled: number[] = [];
    const respond = async (socket: Socket, i: number) => {
      if (i === 0) {
        socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        const timer = setInterval(() => socket.write("7\r\ndata: 1\r\n"), 2);
        socket.once("close", () => clearInterval(timer));
      } else if (i === 1) {
        socket.write(answer(big));
        await wait(150);
        // The reader has read nothing yet: the client stopped reading, the server could not write.
        stalled.push(socket.writableLength);
      } else socket.write(answer("{}"));
    };
    const leave = async (fetch: UpstreamFetch, base: string) => {
      const response = await fetch(base, { method: "POST", headers: {}, body: "{}" });
      for await (const _ of response.body ?? []) break;
      const slow = await fetch(base, { method: "POST", headers: {}, body: "{}" });
      await wait(300);
      let length = 0;
      for await (const chunk of slow.body ?? []) length += chunk.byteLength;
      const last = await fetch(base, { method: "POST", headers: {}, body: "{}" });
      return [length, await last.text()];
    };
    const forPool = await rawServer(respond);
    const forNode = await rawServer(respond);
    const viaNode = nodeHttpFetch();
    servers.push({ close: () => viaNode.destroy() });
    const fromPool = await leave(upstreamHttpFetch(), `http://127.0.0.1:${forPool.port}`);
    const fromNode = await leave(viaNode, `http://127.0.0.1:${forNode.port}`);
    expect(fromPool).toEqual([big.length, "{}"]);
    expect(fromNode).toEqual(fromPool);
    expect(forPool.connections).toBe(2);
    expect(forNode.connections).toBe(2);
    expect(stalled.every((left) => left > 0)).toBe(true);
  });
});

describe("upstreamHttpFetch, held to node:http's client, early answers", () => {
  it("sends the next call on a connection of its own while a refused request is still being written", async () => {
    // An upstream that refuses a 6 MB request on its head (401), reads no more of it, and
    // resets the connection 30 ms later; a small call after it must be answered, not failed.
    const refuser = async () => {
      let connections = 0;
      const server = createServer((socket) => {
        connections++;
        socket.on("error", () => {});
        let buffer = Buffer.alloc(0);
        socket.on("data", (data: Buffer) => {
          buffer = Buffer.concat([buffer, data]);
          const end = buffer.indexOf("\r\n\r\n");
          if (end === -1) return;
          const length = Number(
            /content-length: *(\d+)/i.exec(buffer.toString("latin1", 0, end))?.[1],
          );
          if (length > 1_000_000) {
            socket.removeAllListeners("data");
            socket.pause();
            socket.write("HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\n{}");
            setTimeout(() => socket.resetAndDestroy(), 30);
          } else if (buffer.length >= end + 4 + length) {
            buffer = buffer.subarray(end + 4 + length);
            socket.write(answer("{}"));
          }
        });
      });
      servers.push({ close: () => server.close() });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return {
        base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        connections: () => connections,
      };
    };
    const viaNode = nodeHttpFetch();
    servers.push({ close: () => viaNode.destroy() });
    for (const fetch of [upstreamHttpFetch(), viaNode]) {
      const upstream = await refuser();
      const refused = await call(fetch, upstream.base, post("x".repeat(6 << 20), "text"));
      const next = await call(fetch, upstream.base, post("{}", "text"));
      expect([refused, next]).toEqual([
        expect.objectContaining({ status: 401, body: "{}" }),
        expect.objectContaining({ status: 200, body: "{}" }),
      ]);
      expect(upstream.connections()).toBe(2);
    }
  });
});

describe("upstreamHttpFetch's own rules", () => {
  it("refuses a header value that would split the request: not sent, and nothing reaches the upstream", async () => {
    const server = await rawServer((socket) => void socket.write(answer("{}")));
    const fetch = upstreamHttpFetch();
    const outcome = await call(fetch, `http://127.0.0.1:${server.port}`, {
      init: { method: "POST", headers: { "x-evil": "a\r\nx-injected: 1" }, body: "{}" },
    });
    expect(outcome).toEqual({ error: "not sent", sent: 0 });
    expect(server.connections).toBe(0);
  });

  it("gives the chunks one read brought in one piece, as node's stream does", async () => {
    // Three events in three HTTP chunks, in one write: the relay should write them once.
    const server = await rawServer((socket) => void socket.write(sse(["1", "2", "3"])));
    const response = await upstreamHttpFetch()(`http://127.0.0.1:${server.port}`, {
      method: "POST",
      headers: {},
      body: "{}",
    });
    const pieces: string[] = [];
    for await (const chunk of response.body ?? []) pieces.push(Buffer.from(chunk).toString());
    expect(pieces).toEqual(["data: 1\n\ndata: 2\n\ndata: 3\n\n"]);
  });

  it("answers an abort while waiting for a connection with the abort's reason, and sends nothing", async () => {
    const server = await rawServer((socket) => void socket.write(answer("{}")));
    const fetch = upstreamHttpFetch();
    const base = `http://127.0.0.1:${server.port}`;
    const aborted = new AbortController();
    aborted.abort(new Error("client went away"));
    await expect(
      fetch(base, { method: "POST", headers: {}, body: "{}", signal: aborted.signal }),
    ).rejects.toThrow("client went away");
    expect(server.connections).toBe(0);
    expect(await (await fetch(base, { method: "POST", headers: {}, body: "{}" })).text()).toBe(
      "{}",
    );
  });
});
