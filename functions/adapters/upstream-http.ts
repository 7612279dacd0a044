import { isIP } from "node:net";
import {
  RequestNotSent,
  type UpstreamFetch,
  type UpstreamResponse,
} from "../../shared/relay/upstream";
import { type AnswerBody, Http1Pool, type Http1Stream, StaleConnection } from "./http1-pool";

/**
 * A kept-alive connection the upstream closed just as a request went out to it is reset
 * within a round trip; a reset later than this came from an upstream that had the request.
 */
const STALE_CONNECTION_MS = 1_000;
/** Connections open at once to one upstream origin (node's agent had 256 here). */
const MAX_CONNECTIONS = 256;

/**
 * Upstream calls over HTTP/1.1 connections kept alive across invocations, one pool per origin
 * (./http1-pool.ts: node:http's client costs about three times its CPU per exchange, and
 * node's fetch several times more; test/unit/upstream-http.test.ts holds it to node:http's
 * answers). Multipart bodies are encoded by the platform's Response, then sent the same way.
 * It says when the request was written (`onSent`); a failure before then, or a reset of a
 * reused connection before any answer within STALE_CONNECTION_MS of it, is a RequestNotSent:
 * the upstream never had the request.
 */
export function upstreamHttpFetch(): UpstreamFetch {
  const pools = new Map<string, Http1Pool>();
  return async (url, init) => {
    let { body, headers } = init;
    // Only a multipart body touches FormData: reading that global loads Node's fetch (undici)
    // the first time: about 0.6 s of a cold start's first call at 128 MB's share.
    if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)) {
      const encoded = new Response(body);
      headers = { ...headers, "content-type": encoded.headers.get("content-type") as string };
      body = new Uint8Array(await encoded.arrayBuffer());
    }
    const target = new URL(url);
    if (target.protocol !== "http:" && target.protocol !== "https:")
      throw new RequestNotSent(new TypeError(`Protocol "${target.protocol}" not supported`));
    const origin = `${target.protocol}//${target.host}`;
    let pool = pools.get(origin);
    if (!pool) {
      const https = target.protocol === "https:";
      const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
      pool = new Http1Pool(
        {
          https,
          hostname,
          port: Number(target.port) || (https ? 443 : 80),
          host: target.host,
          // No name for an address, as node sends none.
          servername: isIP(hostname) ? "" : hostname,
        },
        MAX_CONNECTIONS,
      );
      pools.set(origin, pool);
    }
    headers = withUserinfo(target, lowerCased(headers));
    let sentAt: number | undefined;
    try {
      const answer = await pool.open(
        init.method,
        `${target.pathname}${target.search}`,
        headers,
        body,
        {
          signal: init.signal,
          onSent: () => {
            sentAt = performance.now();
            init.onSent?.();
          },
        },
      );
      return new PoolResponse(answer);
    } catch (err) {
      if (init.signal?.aborted && err === init.signal.reason) throw err;
      const stale =
        err instanceof StaleConnection &&
        sentAt !== undefined &&
        performance.now() - sentAt < STALE_CONNECTION_MS;
      const cause = err instanceof StaleConnection ? (err.cause as Error) : err;
      throw sentAt === undefined || stale ? new RequestNotSent(cause) : cause;
    }
  };
}

/** Header names lower-cased, as the pool takes them (HTTP's names are case-insensitive). */
function lowerCased(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) out[name.toLowerCase()] = headers[name] as string;
  return out;
}

/** A URL's user and password as Basic credentials, unless the call sets its own, as node does. */
function withUserinfo(target: URL, headers: Record<string, string>): Record<string, string> {
  if ((!target.username && !target.password) || headers.authorization !== undefined) return headers;
  const userinfo = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
  return { ...headers, authorization: `Basic ${Buffer.from(userinfo).toString("base64")}` };
}

/**
 * Header fields of which node keeps the first when an answer repeats them (the rest it joins
 * with ", "): `IncomingMessage.headers`' rule, which the relay read before.
 */
const FIRST_ONLY = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/** The part of the fetch Response sluice uses, over an answer the pool opened. */
class PoolResponse implements UpstreamResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: AnswerBody;

  constructor(answer: Http1Stream) {
    this.status = answer.status;
    this.ok = this.status >= 200 && this.status < 300;
    this.body = answer.body;
    const lines = answer.headers;
    this.headers = {
      get: (name) => {
        const wanted = name.toLowerCase();
        let value: string | null = null;
        for (let i = 0; i < lines.length; i += 2) {
          if (lines[i] !== wanted) continue;
          const next = lines[i + 1] as string;
          if (value === null) value = next;
          else if (FIRST_ONLY.has(wanted)) break;
          else value += `, ${next}`;
        }
        return value;
      },
    };
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.body.bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return (await this.body.bytes()).toString("utf8");
  }
}
