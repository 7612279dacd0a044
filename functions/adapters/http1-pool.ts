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
/** Connections open at once; exchanges beyond wait for one (node's agent had 128 sockets). */
const MAX_CONNECTIONS = 128;
/**
 * An idle connection older than this is closed, not reused: after a long pause (a Lambda
 * environment frozen between invocations) the server has likely closed it unseen. The AWS SDK
 * for Java's default; a server's `Keep-Alive: timeout=N` shortens it to N - 1 s, as node does.
 */
const MAX_IDLE_MS = 60_000;
/** A header field name: an RFC 9110 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** One exchange: its request, and who waits for its answer until when. */
interface Exchange {
  request: string;
  resolve: (answer: Http1Answer) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The connection it went out on, once it has one. */
  connection?: Connection;
}

/**
 * One origin's HTTP/1.1 connections, kept alive, for small request/response exchanges that
 * are whole in memory (DynamoDB's JSON protocol): each exchange is one write of the request,
 * and a parse of the response's status, framing (Content-Length, chunked or until the close)
 * and body. It answers what node:http's request() with a keep-alive agent answers for the
 * same exchanges (test/unit/http1-pool.test.ts holds it to that), at about a third of the CPU
 * per exchange: node's client builds an OutgoingMessage, an IncomingMessage and their streams,
 * and runs its parser's callbacks, for each (bench: `npm run bench -- --share`).
 *
 * Like node's agent, it reuses the most recently used connection whose last exchange ended
 * cleanly and which the server has not closed since, opens at most MAX_CONNECTIONS (the
 * exchanges beyond wait, first come first served), and reports a connection that closes
 * before its answer is whole as an error (`ECONNRESET`): the caller decides whether to send
 * again. Unlike it, a reused connection found closed by the server closes the other idle ones
 * too, so that the caller's next attempt connects anew rather than meeting another.
 */
export class Http1Pool {
  /** Connections whose exchange is over, the most recently used last. */
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: Exchange[] = [];
  /** The last TLS session, to resume on the next connection (node's https agent does so too). */
  private session: Buffer | undefined;

  constructor(private readonly origin: Http1Origin) {}

  /**
   * Sends `body` with `headers` (lower-case names; Content-Length is set, and Host unless
   * given) and reads the whole answer. `timeoutMs` bounds the exchange from now, waiting for a
   * connection included: the promise then rejects with `timeout()` (and the connection, if it
   * had one, is destroyed).
   */
  post(
    path: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
    timeout: () => Error,
  ): Promise<Http1Answer> {
    if (/[\s\0]/.test(path))
      return Promise.reject(new TypeError("Request path contains unescaped characters"));
    let head = `POST ${path} HTTP/1.1\r\n`;
    if (headers.host === undefined) head += `host: ${this.origin.host}\r\n`;
    for (const name in headers) {
      const value = headers[name] as string;
      if (!TOKEN.test(name) || /[\r\n\0]/.test(value))
        return Promise.reject(new TypeError(`Invalid character in header "${name}"`));
      if (name !== "content-length") head += `${name}: ${value}\r\n`;
    }
    head += `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return new Promise((resolve, reject) => {
      const exchange: Exchange = { request: head + body, resolve, reject, timer: undefined };
      exchange.timer = setTimeout(() => {
        const at = this.waiting.indexOf(exchange);
        if (at === -1) return exchange.connection?.destroy(timeout());
        this.waiting.splice(at, 1);
        reject(timeout());
      }, timeoutMs);
      const connection =
        this.reusable() ?? (this.all.size < MAX_CONNECTIONS ? this.connect() : undefined);
      if (connection) connection.send(exchange);
      else this.waiting.push(exchange);
    });
  }

  /** Closes every connection: exchanges in flight fail, and those waiting for one. */
  destroy(): void {
    for (const exchange of this.waiting.splice(0)) {
      clearTimeout(exchange.timer);
      exchange.reject(hangUp());
    }
    for (const connection of this.all) connection.destroy(hangUp());
    this.idle.length = 0;
  }

  /** The most recently used idle connection still fit to reuse; those found unfit close. */
  private reusable(): Connection | undefined {
    const now = Date.now();
    for (let connection = this.idle.pop(); connection; connection = this.idle.pop()) {
      if (!connection.closed && now < connection.expiresAt) return connection;
      connection.destroy();
    }
    return undefined;
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
    const connection = new Connection(socket, {
      released: (done) => {
        const next = this.waiting.shift();
        if (next) done.send(next);
        else this.idle.push(done);
      },
      // A reused connection the server had closed unseen: the other idle ones are as old.
      stale: (found) => {
        for (const other of this.idle.splice(0)) if (other !== found) other.destroy();
      },
    });
    this.all.add(connection);
    socket.once("close", () => {
      this.all.delete(connection);
      const at = this.idle.indexOf(connection);
      if (at !== -1) this.idle.splice(at, 1);
      // Its place goes to an exchange waiting for one.
      const next = this.waiting.shift();
      if (next) this.connect().send(next);
    });
    return connection;
  }
}

type Framing = { kind: "length"; left: number } | { kind: "chunked" } | { kind: "close" };

/** One connection: one exchange at a time, its answer parsed as its bytes come. */
class Connection {
  closed = false;
  /** Date.now() after which it is not reused. */
  expiresAt = 0;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Exchange | undefined;
  /** Exchanges it has carried, the one in flight included. */
  private exchanges = 0;
  /** Bytes of the answer to the exchange in flight received so far. */
  private received = 0;
  // The answer being read.
  private status = 0;
  private framing: Framing | undefined;
  private keepAlive = true;
  private idleMs = MAX_IDLE_MS;
  private body: Buffer[] = [];
  /** Where a chunked body's reading is, and what is left of the chunk being read. */
  private chunk: "size" | "data" | "data-end" | "trailers" = "size";
  private chunkLeft = 0;

  constructor(
    private readonly socket: Socket,
    private readonly pool: {
      /** Its exchange is over, and it can carry another. */
      released(connection: Connection): void;
      /** It was reused, and failed before any of its answer came. */
      stale(connection: Connection): void;
    },
  ) {
    socket.on("data", (data: Buffer) => this.read(data));
    socket.on("end", () => this.ended());
    socket.on("error", (err: Error) => this.fail(err));
    socket.on("close", () => {
      this.closed = true;
      if (this.pending) this.fail(hangUp());
    });
  }

  send(exchange: Exchange): void {
    exchange.connection = this;
    this.pending = exchange;
    this.exchanges++;
    this.received = 0;
    this.socket.ref();
    this.socket.write(exchange.request);
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
    this.received += data.length;
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
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/.exec(lines[0] ?? "");
    if (!statusLine) throw parseError("invalid status line");
    const status = Number(statusLine[2]);
    // 101 would switch protocols, which no exchange here asks for.
    if (status === 101) throw parseError("unexpected 101 Switching Protocols");
    if (status >= 100 && status < 200) return true;
    let length: number | undefined;
    const codings: string[] = [];
    const connection: string[] = [];
    let keepAliveHint: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(":");
      const name = line.slice(0, Math.max(colon, 0)).toLowerCase();
      if (!TOKEN.test(name)) throw parseError("invalid header line");
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") {
        if (!/^\d+$/.test(value) || (length !== undefined && length !== Number(value)))
          throw parseError("invalid content-length");
        length = Number(value);
      } else if (name === "transfer-encoding") codings.push(...tokens(value));
      else if (name === "connection") connection.push(...tokens(value));
      else if (name === "keep-alive") keepAliveHint = value;
    }
    if (codings.length && length !== undefined)
      throw parseError("both content-length and transfer-encoding");
    this.status = status;
    // HTTP/1.1 keeps the connection unless told to close it; HTTP/1.0 only if told to keep it.
    this.keepAlive = connection.includes("close")
      ? false
      : statusLine[1] === "1" || connection.includes("keep-alive");
    const hinted = /(?:^|[,;\s])timeout=(\d+)/i.exec(keepAliveHint ?? "")?.[1];
    this.idleMs = hinted ? Math.min(MAX_IDLE_MS, (Number(hinted) - 1) * 1000) : MAX_IDLE_MS;
    // No body in these (RFC 9112 §6.3); a body is framed by its last coding being chunked, by
    // its length, or else by the close.
    this.framing =
      status === 204 || status === 304
        ? { kind: "length", left: 0 }
        : codings.length
          ? codings.at(-1) === "chunked"
            ? { kind: "chunked" }
            : { kind: "close" }
          : length !== undefined
            ? { kind: "length", left: length }
            : { kind: "close" };
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
        // The size in hex, leading zeros allowed, then any extensions after a ";".
        const size = /^0*([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/.exec(line)?.[1];
        if (size === undefined) throw parseError("invalid chunk size");
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
    if (reusable) {
      this.expiresAt = Date.now() + this.idleMs;
      this.socket.unref();
    } else this.destroy();
    pending.resolve({ status: this.status, text });
    if (reusable) this.pool.released(this);
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
    const code = (err as NodeJS.ErrnoException).code;
    if (this.exchanges > 1 && this.received === 0 && (code === "ECONNRESET" || code === "EPIPE"))
      this.pool.stale(this);
    pending.reject(err);
  }
}

/** The comma-separated tokens of a header's value, lower-cased. */
function tokens(value: string): string[] {
  return value
    .toLowerCase()
    .split(",")
    .map((token) => token.trim())
    .filter(Boolean);
}

function hangUp(): Error {
  return Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
}

function parseError(reason: string): Error {
  return Object.assign(new Error(`Parse Error: ${reason}`), { code: "HPE_INVALID_RESPONSE" });
}
