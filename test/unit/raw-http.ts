import { readFileSync } from "node:fs";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";

/**
 * Servers that speak raw HTTP/1.1 bytes, for holding sluice's own HTTP clients
 * (functions/adapters/http1-pool.ts and upstream-http.ts) to node:http's.
 */

/** What a test opened, to close after it (`afterEach(closeServers)`). */
export const servers: { close(): void }[] = [];

export function closeServers(): void {
  for (const server of servers.splice(0)) server.close();
}

export interface RawServer {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** The requests' raw heads, in order. */
  heads: string[];
  /** The requests' bodies, in order. */
  bodies: string[];
  /** Server-side sockets still open. */
  open: Set<Socket>;
}

/**
 * A server that reads each request (head and Content-Length body) and lets `respond` write
 * whatever bytes it likes back, on the request's connection.
 */
export async function rawServer(
  respond: (socket: Socket, index: number) => void | Promise<void>,
  tls = false,
): Promise<RawServer> {
  const state: RawServer = { port: 0, connections: 0, heads: [], bodies: [], open: new Set() };
  const onSocket = (socket: Socket) => {
    state.connections++;
    state.open.add(socket);
    socket.on("close", () => state.open.delete(socket));
    socket.on("error", () => {});
    let buffer = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffer.toString("latin1", 0, end);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        state.heads.push(head);
        state.bodies.push(buffer.toString("utf8", end + 4, end + 4 + length));
        buffer = buffer.subarray(end + 4 + length);
        void respond(socket, state.heads.length - 1);
      }
    });
  };
  const server: Server = tls
    ? createTlsServer(
        {
          cert: readFileSync("test/fixtures/tls/dynamodb-test.cert.pem"),
          key: readFileSync("test/fixtures/tls/dynamodb-test.key.pem"),
        },
        onSocket,
      )
    : createServer(onSocket);
  servers.push({
    close: () => {
      for (const socket of state.open) socket.destroy();
      server.close();
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as AddressInfo).port;
  return state;
}

export const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `text` in pieces of `size` bytes, a few milliseconds apart. */
export async function dribble(socket: Socket, text: string | Buffer, size = 1): Promise<void> {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) {
    socket.write(bytes.subarray(at, at + size));
    await wait(1);
  }
}

/** A whole answer with a Content-Length body. */
export const answer = (body: string, headers: string[] = []) =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n${headers.map((h) => `${h}\r\n`).join("")}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
