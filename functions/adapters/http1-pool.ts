import { connect as netConnect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";

/** An exchange's answer: its status and its body as text. */
export interface Http1Answer {
  status: number;
  text: string;
}

export interface Http1Origin {
  https: boolean;
  /** The host to connect to (an address or a name, without brackets). */
  hostname: string;
  port: number;
  /** The Host header: the URL's host, as node's request() sends it. */
  host: string;
  /** The TLS server name (SNI); "" for none, as node sends none for an address. */
  servername: string;
  /** Certificates to trust instead of Node's (a private endpoint's; the tests' own). */
  ca?: string;
}

/** The most of a response's head (status line and headers) read before giving up: node's. */
const MAX_HEAD_BYTES = 81_920;
/** Idle connections kept for reuse; more are closed once their exchange is over. */
const MAX_IDLE = 32;

/**
 * One origin's HTTP/1.1 connections, kept alive, for small request/response exchanges that
 * are whole in memory (DynamoDB's JSON protocol): each exchange is one write of the request,
 * and a parse of the response's status, framing (Content-Length, chunked or until the close)
 * and body. It answers what node:http's request() with a keep-alive agent answers for the
 * same exchanges (test/unit/http1-pool.test.ts holds it to that), at about a third of the CPU
 * per exchange: node's client builds an OutgoingMessage, an IncomingMessage and their streams,
 * and runs its parser's callbacks, for each (bench: `npm run bench -- --share`).
 *
 * Like node's agent, it reuses a connection whose last exchange ended cleanly and which the
 * server has not closed since, and reports a connection that closes before its answer is
 * whole as an error (`ECONNRESET`): the caller decides whether to send again.
 */
export class Http1Pool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  /** The last TLS session, to resume on the next connection (node's https agent does so too). */
  private session: Buffer | undefined;

  constructor(private readonly origin: Http1Origin) {}

  /**
   * Sends `body` with `headers` (lower-case names; Content-Length is added, and Host unless
   * given) and reads the whole answer. `timeoutMs` bounds the exchange: the connection is
   * then destroyed and the promise rejects with `timeout()`.
   */
  post(
    path: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
    timeout: () => Error,
  ): Promise<Http1Answer> {
    let head = `POST ${path} HTTP/1.1\r\n`;
    if (headers.host === undefined) head += `host: ${this.origin.host}\r\n`;
    for (const name in headers) {
      const value = headers[name] as string;
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value))
        return Promise.reject(new TypeError(`Invalid character in header "${name.trim()}"`));
      head += `${name}: ${value}\r\n`;
    }
    head += `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    let connection = this.idle.pop();
    while (connection?.closed) connection = this.idle.pop();
    connection ??= this.connect();
    return connection.exchange(head + body, timeoutMs, timeout);
  }

  /** Closes every connection; exchanges in flight fail. */
  destroy(): void {
    for (const connection of this.all) connection.destroy();
    this.idle.length = 0;
  }

  private connect(): Connection {
    const { https, hostname, port, servername, ca } = this.origin;
    const socket: Socket = https
      ? tlsConnect({
          host: hostname,
          port,
          ...(servername ? { servername } : {}),
          ...(this.session ? { session: this.session } : {}),
          ...(ca ? { ca } : {}),
        })
      : netConnect({ host: hostname, port });
    socket.setNoDelay(true);
    if (https)
      (socket as TLSSocket).on("session", (session: Buffer) => {
        this.session = session;
      });
    const connection = new Connection(socket, (done, reusable) => {
      if (!reusable) return;
      if (this.idle.length >= MAX_IDLE) return done.destroy();
      this.idle.push(done);
    });
    this.all.add(connection);
    socket.once("close", () => {
      this.all.delete(connection);
      const at = this.idle.indexOf(connection);
      if (at !== -1) this.idle.splice(at, 1);
    });
    return connection;
  }
}

type Framing = { kind: "length"; left: number } | { kind: "chunked" } | { kind: "close" };

/** One connection: one exchange at a time, its answer parsed as its bytes come. */
class Connection {
  closed = false;
  private buffer: Buffer = Buffer.alloc(0);
  private pending:
    | {
        resolve: (answer: Http1Answer) => void;
        reject: (err: Error) => void;
        timer: ReturnType<typeof setTimeout>;
      }
    | undefined;
  // The answer being read.
  private status = 0;
  private framing: Framing | undefined;
  private keepAlive = true;
  private body: Buffer[] = [];
  /** Where a chunked body's reading is, and what is left of the chunk being read. */
  private chunk: "size" | "data" | "data-end" | "trailers" = "size";
  private chunkLeft = 0;

  constructor(
    private readonly socket: Socket,
    private readonly released: (connection: Connection, reusable: boolean) => void,
  ) {
    socket.on("data", (data: Buffer) => this.read(data));
    socket.on("end", () => this.ended());
    socket.on("error", (err: Error) => this.fail(err));
    socket.on("close", () => {
      this.closed = true;
      if (this.pending) this.fail(hangUp());
    });
  }

  exchange(request: string, timeoutMs: number, timeout: () => Error): Promise<Http1Answer> {
    this.socket.ref();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.destroy(timeout()), timeoutMs);
      this.pending = { resolve, reject, timer };
      this.socket.write(request);
    });
  }

  destroy(err?: Error): void {
    this.closed = true;
    if (err) this.fail(err);
    this.socket.destroy();
  }

  private read(data: Buffer): void {
    if (!this.pending) {
      // Bytes no exchange asked for: the connection cannot be trusted with the next one.
      this.destroy();
      return;
    }
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    try {
      this.parse();
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  private parse(): void {
    for (;;) {
      if (this.framing === undefined) {
        const end = this.buffer.indexOf("\r\n\r\n");
        if (end === -1) {
          if (this.buffer.length > MAX_HEAD_BYTES) throw parseError("response head too large");
          return;
        }
        if (end > MAX_HEAD_BYTES) throw parseError("response head too large");
        const head = this.buffer.toString("latin1", 0, end);
        this.buffer = this.buffer.subarray(end + 4);
        // An interim answer (100 Continue) is followed by the real one.
        if (this.head(head)) continue;
      }
      if (!this.readBody()) return;
      this.complete();
      return;
    }
  }

  /** Reads a response head; true when it was an interim (1xx) one. */
  private head(head: string): boolean {
    const lines = head.split("\r\n");
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
    if (!statusLine) throw parseError("invalid status line");
    const status = Number(statusLine[2]);
    if (status >= 100 && status < 200) return true;
    let length: number | undefined;
    let chunked = false;
    let connection = statusLine[1] === "1" ? "keep-alive" : "close";
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(":");
      if (colon <= 0) throw parseError("invalid header line");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") {
        if (!/^\d+$/.test(value) || (length !== undefined && length !== Number(value)))
          throw parseError("invalid content-length");
        length = Number(value);
      } else if (name === "transfer-encoding") {
        chunked =
          value
            .toLowerCase()
            .split(/\s*,\s*/)
            .pop() === "chunked";
        if (!chunked) throw parseError(`unsupported transfer-encoding ${value}`);
      } else if (name === "connection") connection = value.toLowerCase();
    }
    if (chunked && length !== undefined)
      throw parseError("both content-length and transfer-encoding");
    this.status = status;
    this.keepAlive = connection.split(/\s*,\s*/).includes("keep-alive");
    this.framing = chunked
      ? { kind: "chunked" }
      : length !== undefined
        ? { kind: "length", left: length }
        : { kind: "close" };
    // A body is framed by the close: the connection ends with it.
    if (this.framing.kind === "close") this.keepAlive = false;
    this.body = [];
    this.chunk = "size";
    return false;
  }

  /** Takes what the buffer holds of the body; true once the body is whole. */
  private readBody(): boolean {
    const framing = this.framing as Framing;
    if (framing.kind === "close") {
      if (this.buffer.length) this.body.push(this.buffer);
      this.buffer = Buffer.alloc(0);
      return false;
    }
    if (framing.kind === "length") {
      const take = Math.min(framing.left, this.buffer.length);
      if (take) this.body.push(this.buffer.subarray(0, take));
      this.buffer = this.buffer.subarray(take);
      framing.left -= take;
      return framing.left === 0;
    }
    for (;;) {
      if (this.chunk === "data") {
        const take = Math.min(this.chunkLeft, this.buffer.length);
        if (take) this.body.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.chunkLeft -= take;
        if (this.chunkLeft > 0) return false;
        this.chunk = "data-end";
        continue;
      }
      const end = this.buffer.indexOf("\r\n");
      if (end === -1) {
        if (this.buffer.length > MAX_HEAD_BYTES) throw parseError("invalid chunk");
        return false;
      }
      const line = this.buffer.toString("latin1", 0, end);
      this.buffer = this.buffer.subarray(end + 2);
      if (this.chunk === "data-end") {
        if (line !== "") throw parseError("invalid chunk");
        this.chunk = "size";
      } else if (this.chunk === "size") {
        const size = line.split(";")[0]?.trim() ?? "";
        if (!/^[0-9a-fA-F]{1,8}$/.test(size)) throw parseError("invalid chunk size");
        this.chunkLeft = Number.parseInt(size, 16);
        this.chunk = this.chunkLeft === 0 ? "trailers" : "data";
      } else if (line === "") {
        // The blank line after the last chunk's trailers: the body is whole.
        return true;
      }
    }
  }

  private complete(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    const text = (
      this.body.length === 1 ? (this.body[0] as Buffer) : Buffer.concat(this.body)
    ).toString("utf8");
    const reusable = this.keepAlive && this.buffer.length === 0 && !this.closed;
    this.framing = undefined;
    this.body = [];
    if (reusable) this.socket.unref();
    else this.destroy();
    this.released(this, reusable);
    pending.resolve({ status: this.status, text });
  }

  /** The server ended its side: an answer framed by the close is whole now. */
  private ended(): void {
    this.closed = true;
    if (this.pending && this.framing?.kind === "close") this.complete();
    else if (this.pending) this.fail(hangUp());
    this.socket.destroy();
  }

  private fail(err: Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    pending.reject(err);
  }
}

function hangUp(): Error {
  return Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
}

function parseError(reason: string): Error {
  return Object.assign(new Error(`Parse Error: ${reason}`), { code: "HPE_INVALID_RESPONSE" });
}
