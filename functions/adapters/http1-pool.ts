import { connect as netConnect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { UNSENDABLE_HEADER_VALUE } from "../../shared/http/header-value";

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

/**
 * The most of a response's head (status line and headers) read before giving up: node's as
 * Lambda starts it (`--max-http-header-size=81920`; node's own default is 16 KB).
 */
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

/** What an exchange's answer is given to, as its bytes come. */
interface Sink {
  /** The final answer's status and header lines: names lower-cased, then values, in turn. */
  head(status: number, headers: string[]): void;
  data(chunk: Buffer): void;
  /** The answer is whole. */
  end(): void;
  /**
   * The exchange failed; `stale` when it went out on a reused connection that failed before
   * any of its answer came (the server had closed it unseen: it likely never had the request).
   */
  fail(err: Error, stale: boolean): void;
}

/** One exchange: its request, and what its answer goes to. */
interface Exchange {
  /** The request's head, with its body when that is text. */
  request: string;
  /** Whether `request` goes as UTF-8 (with a text body) or as Latin-1 (a head alone). */
  utf8: boolean;
  /** A body of bytes, sent after the head. */
  body?: Uint8Array;
  /** A HEAD request, whose answer has no body whatever its head says. */
  bodiless: boolean;
  sink: Sink;
  /** Called once the whole request has been handed to the connection. */
  onSent?: () => void;
  /** Set once it has its answer or failed: cancelling it then does nothing. */
  over?: boolean;
  /** The connection it went out on, once it has one. */
  connection?: Connection;
}

/**
 * One origin's HTTP/1.1 connections, kept alive: each exchange is one write of the request,
 * and a parse of the response's status, headers, framing (Content-Length, chunked or until
 * the close) and body. `post` reads a small answer whole (DynamoDB's JSON protocol); `open`
 * gives the answer at its head with its body to read as it comes (an upstream's stream). It
 * answers what node:http's request() with a keep-alive agent answers for the same exchanges
 * (test/unit/http1-pool.test.ts holds it to that), at about a third of the CPU per exchange:
 * node's client builds an OutgoingMessage, an IncomingMessage and their streams, and runs its
 * parser's callbacks, for each (bench: `npm run bench -- --share`).
 *
 * Like node's agent, it reuses the most recently used connection whose last exchange ended
 * cleanly and which the server has not closed since, opens at most `maxConnections` (the
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

  constructor(
    private readonly origin: Http1Origin,
    private readonly maxConnections = MAX_CONNECTIONS,
  ) {}

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
    return new Promise((resolve, reject) => {
      let status = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunks: Buffer[] = [];
      const exchange = this.exchange("POST", path, headers, body, {
        head: (answered) => {
          status = answered;
        },
        data: (chunk) => chunks.push(chunk),
        end: () => {
          clearTimeout(timer);
          const whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
          resolve({ status, text: whole.toString("utf8") });
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      if (!exchange) return;
      timer = setTimeout(() => this.cancel(exchange, timeout()), timeoutMs);
      this.start(exchange);
    });
  }

  /**
   * Sends a request and gives its answer once the answer's head has come: its body is read
   * as it comes, and the connection is pulled no further than a little ahead of the reader
   * (HIGH_WATER). `signal` aborts it at any point: before the head the promise rejects with
   * the signal's reason, after it the body's reading fails. Nothing else bounds its time.
   */
  open(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    options: { signal?: AbortSignal; onSent?: () => void },
  ): Promise<Http1Stream> {
    const { signal, onSent } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let answer: AnswerBody | undefined;
      const abort = () => this.cancel(exchange as Exchange, signal?.reason);
      const over = () => signal?.removeEventListener("abort", abort);
      const exchange = this.exchange(method, path, headers, body, {
        head: (status, lines) => {
          answer = new AnswerBody(exchange as Exchange, this);
          resolve({ status, headers: lines, body: answer });
        },
        data: (chunk) => answer?.push(chunk),
        end: () => {
          over();
          answer?.end();
        },
        fail: (err, stale) => {
          over();
          if (answer) answer.fail(err);
          else reject(stale ? new StaleConnection(err) : err);
        },
      });
      if (!exchange) return;
      exchange.onSent = onSent;
      signal?.addEventListener("abort", abort, { once: true });
      this.start(exchange);
    });
  }

  /** Closes every connection: exchanges in flight fail, and those waiting for one. */
  destroy(): void {
    for (const exchange of this.waiting.splice(0)) this.finish(exchange)?.fail(hangUp(), false);
    for (const connection of this.all) connection.destroy(hangUp());
    this.idle.length = 0;
  }

  /**
   * Ends an exchange with `err`: one waiting for a connection leaves the queue, one on a
   * connection destroys it. Nothing once the exchange is over.
   */
  cancel(exchange: Exchange, err: Error): void {
    if (exchange.over) return;
    const at = this.waiting.indexOf(exchange);
    if (at === -1) exchange.connection?.destroy(err);
    else {
      this.waiting.splice(at, 1);
      this.finish(exchange)?.fail(err, false);
    }
  }

  /** Marks an exchange over and gives its sink, or nothing if it was over already. */
  finish(exchange: Exchange): Sink | undefined {
    if (exchange.over) return undefined;
    exchange.over = true;
    return exchange.sink;
  }

  /**
   * The exchange for a request, its head checked as node checks it (a bad path or header
   * fails the sink before anything is sent, and gives nothing).
   */
  private exchange(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    sink: Sink,
  ): Exchange | undefined {
    if (/[\s\0]/.test(path)) {
      sink.fail(new TypeError("Request path contains unescaped characters"), false);
      return undefined;
    }
    if (!TOKEN.test(method)) {
      sink.fail(new TypeError(`Method must be a valid HTTP token ["${method}"]`), false);
      return undefined;
    }
    let head = `${method} ${path} HTTP/1.1\r\n`;
    if (headers.host === undefined) head += `host: ${this.origin.host}\r\n`;
    for (const name in headers) {
      const value = headers[name];
      if (!TOKEN.test(name) || typeof value !== "string" || UNSENDABLE_HEADER_VALUE.test(value)) {
        sink.fail(new TypeError(`Invalid character in header "${name}"`), false);
        return undefined;
      }
      if (name !== "content-length") head += `${name}: ${value}\r\n`;
    }
    // A body's length; none for a method that carries none, as node sends none.
    const length =
      body === undefined
        ? NO_BODY.test(method)
          ? undefined
          : 0
        : typeof body === "string"
          ? Buffer.byteLength(body)
          : body.byteLength;
    if (length !== undefined) head += `content-length: ${length}\r\n`;
    head += "\r\n";
    const bodiless = method === "HEAD";
    // As node writes them: a text body in one UTF-8 write with the head, else the head in
    // Latin-1 (its values' characters past ASCII are then one byte each), then any bytes.
    if (typeof body === "string") return { request: head + body, utf8: true, sink, bodiless };
    return { request: head, utf8: false, body, sink, bodiless };
  }

  private start(exchange: Exchange): void {
    const connection =
      this.reusable() ?? (this.all.size < this.maxConnections ? this.connect() : undefined);
    if (connection) connection.send(exchange);
    else this.waiting.push(exchange);
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
    // TCP keep-alive probes after a second of silence, as node's agent sets on its sockets:
    // an upstream that thinks for minutes before its first byte keeps its connection through
    // NAT (a NAT gateway forgets a connection idle for 350 s) and a dead peer is found.
    socket.setKeepAlive(true, 1_000);
    if (https) {
      (socket as TLSSocket).on("session", (session: Buffer) => {
        this.session = session;
      });
      // A connection that failed does not lend its session to the next, as node's agent drops it.
      socket.on("error", () => {
        this.session = undefined;
      });
    }
    const connection = new Connection(socket, this, {
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

/**
 * A reused connection that failed before any of its answer came: the server had closed it
 * unseen, and likely never had the request.
 */
export class StaleConnection extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

/** An answer opened at its head: its header lines (name, value, …) and its body to come. */
export interface Http1Stream {
  status: number;
  headers: string[];
  body: AnswerBody;
}

/** Bytes of a body received and not yet read past which its connection stops reading. */
const HIGH_WATER = 65_536;

/**
 * A streamed answer's body, read once: by async iteration (a reader that stops early closes
 * the connection, whose answer is then left unread) or whole.
 */
export class AnswerBody implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  private readonly chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | undefined;
  private waiter:
    | { resolve(r: IteratorResult<Uint8Array>): void; reject(e: Error): void }
    | undefined;

  constructor(
    private readonly exchange: Exchange,
    private readonly pool: Http1Pool,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.queued > 0) return Promise.resolve({ value: this.take(), done: false });
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The reader stopped: an answer not yet whole is abandoned with its connection. */
  return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.ended && !this.error) this.pool.cancel(this.exchange, abandoned());
    this.chunks.length = 0;
    this.queued = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The whole body. */
  async bytes(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this) chunks.push(chunk as Buffer);
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  }

  /**
   * A piece of the body. A waiting reader has it once the piece's socket read is parsed,
   * with the rest of that read (as node's stream gives a read's chunks in one): one write
   * of the relay's per read, not per chunk of the upstream's.
   */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (this.queued > HIGH_WATER) this.exchange.connection?.pull(this.exchange, false);
    if (this.waiter && this.chunks.length === 1) queueMicrotask(() => this.settle());
  }

  end(): void {
    this.ended = true;
    queueMicrotask(() => this.settle());
  }

  fail(err: Error): void {
    this.error = new Error("the upstream closed the connection mid-answer", { cause: err });
    queueMicrotask(() => this.settle());
  }

  /** Gives a waiting reader what came, or the end, or the failure. */
  private settle(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    if (this.queued > 0) waiter.resolve({ value: this.take(), done: false });
    else if (this.error) waiter.reject(this.error);
    else if (this.ended) waiter.resolve({ value: undefined, done: true });
    else this.waiter = waiter;
  }

  /** All that came and was not read yet, in one piece; the connection reads on. */
  private take(): Buffer {
    const chunks = this.chunks.splice(0);
    this.queued = 0;
    this.exchange.connection?.pull(this.exchange, true);
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
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
  /** Whether the last request is still being written, and whether to release it once it is. */
  private writing = false;
  private releaseWhenWritten = false;
  /** Bytes of the answer to the exchange in flight received so far. */
  private received = 0;
  // The answer being read.
  private framing: Framing | undefined;
  private keepAlive = true;
  private idleMs = MAX_IDLE_MS;
  /** Where a chunked body's reading is, and what is left of the chunk being read. */
  private chunk: "size" | "data" | "data-end" | "trailers" = "size";
  private chunkLeft = 0;

  constructor(
    private readonly socket: Socket,
    private readonly pool: Http1Pool,
    private readonly events: {
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
    this.writing = true;
    const sent = (err?: Error | null) => {
      this.writing = false;
      // A failed write fails the exchange through the socket's error.
      if (err) return;
      exchange.onSent?.();
      if (this.releaseWhenWritten) {
        this.releaseWhenWritten = false;
        if (!this.closed) this.events.released(this);
      }
    };
    if (exchange.body === undefined)
      this.socket.write(exchange.request, exchange.utf8 ? "utf8" : "latin1", sent);
    else {
      this.socket.cork();
      this.socket.write(exchange.request, "latin1");
      this.socket.write(exchange.body, sent);
      this.socket.uncork();
    }
  }

  /** Reads on, or stops reading, for `exchange`'s reader; nothing once it is not in flight. */
  pull(exchange: Exchange, flowing: boolean): void {
    if (exchange !== this.pending) return;
    if (flowing) this.socket.resume();
    else this.socket.pause();
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
        // A head that ends its lines with a bare line feed is refused at once, as node does.
        const bare = this.buffer.indexOf("\n\n");
        if (bare !== -1 && (end === -1 || bare < end))
          throw parseError("line feed without carriage return");
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
    const headers: string[] = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(":");
      const name = line.slice(0, Math.max(colon, 0)).toLowerCase();
      if (!TOKEN.test(name)) throw parseError("invalid header line");
      const value = line.slice(colon + 1).trim();
      headers.push(name, value);
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
    // HTTP/1.1 keeps the connection unless told to close it; HTTP/1.0 only if told to keep it.
    this.keepAlive = connection.includes("close")
      ? false
      : statusLine[1] === "1" || connection.includes("keep-alive");
    const hinted = /(?:^|[,;\s])timeout=(\d+)/i.exec(keepAliveHint ?? "")?.[1];
    this.idleMs = hinted ? Math.min(MAX_IDLE_MS, (Number(hinted) - 1) * 1000) : MAX_IDLE_MS;
    // No body in these (RFC 9112 §6.3); a body is framed by its last coding being chunked, by
    // its length, or else by the close.
    this.framing =
      status === 204 || status === 304 || (this.pending as Exchange).bodiless
        ? { kind: "length", left: 0 }
        : codings.length
          ? codings.at(-1) === "chunked"
            ? { kind: "chunked" }
            : { kind: "close" }
          : length !== undefined
            ? { kind: "length", left: length }
            : { kind: "close" };
    if (this.framing.kind === "close") this.keepAlive = false;
    this.chunk = "size";
    (this.pending as Exchange).sink.head(status, headers);
    return false;
  }

  /** Takes what the buffer holds of the body; true once the body is whole. */
  private readBody(): boolean {
    const framing = this.framing as Framing;
    if (framing.kind === "close") {
      if (this.buffer.length) this.take(this.buffer);
      this.buffer = Buffer.alloc(0);
      return false;
    }
    if (framing.kind === "length") {
      const take = Math.min(framing.left, this.buffer.length);
      if (take) this.take(this.buffer.subarray(0, take));
      this.buffer = this.buffer.subarray(take);
      framing.left -= take;
      return framing.left === 0;
    }
    for (;;) {
      if (this.chunk === "data") {
        const take = Math.min(this.chunkLeft, this.buffer.length);
        if (take) this.take(this.buffer.subarray(0, take));
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

  /** A piece of the body, to the exchange's sink (a body the exchange gave up on is dropped). */
  private take(chunk: Buffer): void {
    const pending = this.pending as Exchange;
    if (!pending.over) pending.sink.data(chunk);
  }

  private complete(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    const reusable = this.keepAlive && this.buffer.length === 0 && !this.closed;
    this.framing = undefined;
    if (reusable) {
      this.expiresAt = Date.now() + this.idleMs;
      // A reader that held the body back may have paused it.
      this.socket.resume();
      this.socket.unref();
    } else this.destroy();
    this.pool.finish(pending)?.end();
    // An answer that came before its request was all written (an upstream that refused it
    // unread): the rest of the request goes out first, as node's client waits for it too.
    if (reusable && this.writing) this.releaseWhenWritten = true;
    else if (reusable) this.events.released(this);
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
    const code = (err as NodeJS.ErrnoException).code;
    const stale =
      this.exchanges > 1 && this.received === 0 && (code === "ECONNRESET" || code === "EPIPE");
    if (stale) this.events.stale(this);
    this.pool.finish(pending)?.fail(err, stale);
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

/** Methods node sends no Content-Length for when they carry no body. */
const NO_BODY = /^(?:GET|HEAD|DELETE|OPTIONS|TRACE|CONNECT)$/;

function abandoned(): Error {
  return Object.assign(new Error("the reader stopped before the answer was whole"), {
    code: "ABORT_ERR",
  });
}

function hangUp(): Error {
  return Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
}

function parseError(reason: string): Error {
  return Object.assign(new Error(`Parse Error: ${reason}`), { code: "HPE_INVALID_RESPONSE" });
}
