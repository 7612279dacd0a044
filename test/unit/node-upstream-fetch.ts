import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import {
  RequestNotSent,
  type UpstreamFetch,
  type UpstreamResponse,
} from "../../shared/relay/upstream";

/**
 * A kept-alive connection the upstream closed just as a request went out to it is reset
 * within a round trip; a reset later than this came from an upstream that had the request.
 */
const STALE_CONNECTION_MS = 1_000;

/**
 * The upstream client sluice used before functions/adapters/upstream-http.ts (node:http with
 * keep-alive agents), kept as the reference test/unit/upstream-http.test.ts holds that one to.
 */
export function nodeHttpFetch(): UpstreamFetch & { destroy(): void } {
  const agents = {
    "http:": new HttpAgent({ keepAlive: true, maxSockets: 256 }),
    "https:": new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
  };
  const fetch: UpstreamFetch = async (url, init) => {
    let { body, headers } = init;
    // Only a multipart body touches FormData: reading that global loads Node's fetch (undici)
    // the first time: about 0.6 s of a cold start's first call at 128 MB's share.
    if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)) {
      const encoded = new Response(body);
      headers = { ...headers, "content-type": encoded.headers.get("content-type") as string };
      body = new Uint8Array(await encoded.arrayBuffer());
    }
    const target = new URL(url);
    const https = target.protocol === "https:";
    const send = https ? httpsRequest : httpRequest;
    return new Promise<UpstreamResponse>((resolve, reject) => {
      let sentAt: number | undefined;
      let answered = false;
      const req = send(
        target,
        {
          method: init.method,
          headers,
          agent: https ? agents["https:"] : agents["http:"],
        },
        (res) => {
          answered = true;
          // Errors reach the reader through iteration; the event itself needs no listener.
          res.on("error", () => {});
          resolve(new NodeResponse(res));
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        const stale =
          req.reusedSocket &&
          !answered &&
          (err.code === "ECONNRESET" || err.code === "EPIPE") &&
          sentAt !== undefined &&
          performance.now() - sentAt < STALE_CONNECTION_MS;
        reject(sentAt === undefined || stale ? new RequestNotSent(err) : err);
      });
      // Aborting destroys the request quietly: before the answer the promise rejects, during
      // it the body's iteration fails (premature close).
      init.signal?.addEventListener(
        "abort",
        () => {
          reject(init.signal?.reason);
          req.destroy();
        },
        { once: true },
      );
      // 'finish': the whole request was handed to the connection.
      req.end(body, (err?: Error | null) => {
        if (err) return;
        sentAt = performance.now();
        init.onSent?.();
      });
    });
  };
  return Object.assign(fetch, {
    destroy: () => {
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  });
}

/** The part of the fetch Response sluice uses, over a node:http response. */
class NodeResponse implements UpstreamResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };

  constructor(readonly body: IncomingMessage) {
    this.status = body.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = {
      get: (name) => {
        const value = body.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    };
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString("utf8");
  }

  /** Read through events: cheaper per call than async iteration. */
  private bytes(): Promise<Buffer> {
    const body = this.body;
    return new Promise((resolve, reject) => {
      if (body.errored) return reject(body.errored);
      if (body.destroyed && !body.complete)
        return reject(new Error("the upstream closed the connection mid-answer"));
      const chunks: Buffer[] = [];
      body.on("data", (chunk: Buffer) => chunks.push(chunk));
      body.once("end", () =>
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
      );
      body.once("error", reject);
      // An abort destroys the body without an error event.
      body.once("close", () => {
        if (!body.complete) reject(new Error("the upstream closed the connection mid-answer"));
      });
    });
  }
}
