import { Writable } from "node:stream";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  AfterResponseTasks,
  sendBody,
  streamingHandler,
  toGatewayRequest,
} from "../../functions/api/function-url";
import {
  installAwsLambdaGlobal,
  LocalResponseStream,
  PreludeDecoder,
  type ResponseSink,
} from "../../infra/local/awslambda";
import { startFunctionUrlServer } from "../../infra/local/function-url-server";
import { localContext } from "../../infra/local/lambda-context";
import { currentTest, TEST_HEADER } from "../../infra/local/logs";
import { TtlCache } from "../../shared/cache";
import { readJsonObject } from "../../shared/http/body";
import type { Dispatch } from "../../shared/http/dispatch";
import type { GatewayResponse } from "../../shared/http/types";
import { CompletionStreamRelay } from "../../shared/stream/completion-stream";
import { relaySse } from "../../shared/stream/relay-stream";
import { capturedLog } from "../fixtures/logs";

function event(overrides: Partial<LambdaFunctionURLEvent>): LambdaFunctionURLEvent {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/v1/files",
    rawQueryString: "purpose=batch&limit=2",
    headers: { "content-type": "application/octet-stream" },
    requestContext: {
      accountId: "anonymous",
      apiId: "x",
      domainName: "x.lambda-url.us-east-1.on.aws",
      domainPrefix: "x",
      http: {
        method: "POST",
        path: "/v1/files",
        protocol: "HTTP/1.1",
        sourceIp: "1.2.3.4",
        userAgent: "t",
      },
      requestId: "3f0e7a2c-1b2d-4c5e-8f9a-0b1c2d3e4f50",
      routeKey: "$default",
      stage: "$default",
      time: "",
      timeEpoch: 0,
    },
    isBase64Encoded: false,
    ...overrides,
  };
}

describe("function URL events", () => {
  it("decodes a base64 body to the exact bytes", () => {
    const payload = Buffer.from([0, 255, 1, 254, 10, 13]);
    const request = toGatewayRequest(
      event({ body: payload.toString("base64"), isBase64Encoded: true }),
      1,
    );
    expect(Buffer.from(request.body)).toEqual(payload);
    expect(request.query.get("purpose")).toBe("batch");
    expect(request.method).toBe("POST");
    expect(request.id).toBe("req_3f0e7a2c1b2d4c5e8f9a0b1c2d3e4f50");
  });

  it("takes a text body as UTF-8 and an absent body as empty", () => {
    expect(new TextDecoder().decode(toGatewayRequest(event({ body: '{"a":"é"}' }), 1).body)).toBe(
      '{"a":"é"}',
    );
    expect(toGatewayRequest(event({}), 1).body.length).toBe(0);
  });

  it("keeps a well-formed text body as text, to be parsed as it came; never a base64 one", () => {
    const text = toGatewayRequest(event({ body: '{"a":"é"}' }), 1);
    expect(text.text).toBe('{"a":"é"}');
    const binary = toGatewayRequest(
      event({ body: Buffer.from('{"a":1}').toString("base64"), isBase64Encoded: true }),
      1,
    );
    expect(binary.text).toBeUndefined();
    expect(readJsonObject(binary)).toEqual({ a: 1 });
  });

  it("parses from the bytes a body with a lone surrogate, so what is checked is what passes through", () => {
    const request = toGatewayRequest(event({ body: '{"a":"\ud800"}' }), 1);
    expect(request.text).toBeUndefined();
    expect(readJsonObject(request)).toEqual({ a: "\ufffd" });
    expect(new TextDecoder().decode(request.body)).toBe('{"a":"\ufffd"}');
  });

  it("drops a leading byte-order mark from a text body, as from bytes", () => {
    expect(readJsonObject(toGatewayRequest(event({ body: '\ufeff{"a":1}' }), 1))).toEqual({ a: 1 });
  });
});

describe("the client's address", () => {
  const SECRET = "s3cret-from-the-distribution";
  const viaCloudFront = (viewer: string, secret = SECRET) =>
    event({
      headers: { "cloudfront-viewer-address": viewer, "x-sluice-origin-verify": secret },
    });
  const address = (e: LambdaFunctionURLEvent, originSecret?: string) =>
    toGatewayRequest(e, 1, undefined, { originSecret }).sourceIp;

  it("is the viewer's when the distribution's secret came with it", () => {
    expect(address(viaCloudFront("198.51.100.10:46532"), SECRET)).toBe("198.51.100.10");
    expect(address(viaCloudFront("2406:2d40:728d:fa10::c4a:42838"), SECRET)).toBe(
      "2406:2d40:728d:fa10::c4a",
    );
  });

  it("is the connection's for anyone who calls the function URL with the header but not the secret", () => {
    expect(address(viaCloudFront("198.51.100.10:1", "guess"), SECRET)).toBe("1.2.3.4");
    expect(address(viaCloudFront("198.51.100.10:1", `${SECRET}x`), SECRET)).toBe("1.2.3.4");
    expect(
      address(event({ headers: { "cloudfront-viewer-address": "198.51.100.10:1" } }), SECRET),
    ).toBe("1.2.3.4");
    // Without a distribution in front, the header means nothing at all.
    expect(address(viaCloudFront("198.51.100.10:1"), undefined)).toBe("1.2.3.4");
  });

  it("is the connection's when the viewer header is not an address, and the secret goes no further", () => {
    expect(address(viaCloudFront("not an address:1"), SECRET)).toBe("1.2.3.4");
    expect(address(viaCloudFront("198.51.100.10"), SECRET)).toBe("1.2.3.4");
    const request = toGatewayRequest(viaCloudFront("198.51.100.10:1"), 1, undefined, {
      originSecret: SECRET,
    });
    expect(request.headers["x-sluice-origin-verify"]).toBeUndefined();
  });
});

describe("the streaming handler on the local awslambda runtime", () => {
  installAwsLambdaGlobal();

  /** Runs a handler around `api` for one event; what reached the client, and its prelude. */
  async function invoke(
    api: Dispatch,
    onWrite?: (count: number, stream: LocalResponseStream) => void,
  ) {
    const received: Buffer[] = [];
    let contentType = "";
    const sink: ResponseSink = {
      start: (type) => {
        contentType = type;
      },
      write: async (chunk) => {
        received.push(Buffer.from(chunk));
        onWrite?.(received.length, stream);
      },
      end: () => {},
    };
    const stream = new LocalResponseStream(sink);
    const handler = streamingHandler(api, { log: capturedLog().log }) as unknown as (
      ...args: unknown[]
    ) => Promise<unknown>;
    await handler(event({}), stream, localContext("test"));
    // Decode byte by byte: the separator can be split anywhere.
    const decoder = new PreludeDecoder();
    let text = "";
    for (const byte of Buffer.concat(received)) {
      const rest = decoder.push(Uint8Array.of(byte));
      if (rest) text += Buffer.from(rest).toString();
    }
    return { contentType, prelude: decoder.prelude, text };
  }

  const answering =
    (response: GatewayResponse): Dispatch =>
    async () =>
      response;

  it("writes the prelude ahead of the body, as HttpResponseStream does", async () => {
    const out = await invoke(
      answering({
        status: 201,
        headers: { "content-type": "text/plain" },
        body: (async function* () {
          yield new TextEncoder().encode("hello ");
          yield new TextEncoder().encode("world");
        })(),
      }),
    );
    expect(out.contentType).toBe("application/vnd.awslambda.http-integration-response");
    expect(out.prelude).toEqual({ statusCode: 201, headers: { "content-type": "text/plain" } });
    expect(out.text).toBe("hello world");
  });

  it("writes byte and string bodies", async () => {
    for (const body of [new Uint8Array([104, 105]), "hi"]) {
      expect((await invoke(answering({ status: 200, headers: {}, body }))).text).toBe("hi");
    }
  });

  it("answers 500 in OpenAI's envelope for a header that cannot be sent, and ends the body", async () => {
    const cases: Record<string, string>[] = [
      { "content-disposition": 'attachment; filename="résumé-файл.jsonl"' },
      { "x-bad": "a\r\nb" },
      { "bad name": "x" },
    ];
    for (const headers of cases) {
      let closed = false;
      const body = (async function* () {
        try {
          yield new TextEncoder().encode("never sent");
        } finally {
          closed = true;
        }
      })();
      // Started, as a relay's body is by the time it is answered.
      const out = await invoke(answering({ status: 200, headers, body: started(body) }));
      expect(out.prelude?.statusCode).toBe(500);
      expect(JSON.parse(out.text).error.type).toBe("server_error");
      expect(out.text).not.toContain("never sent");
      expect(closed).toBe(true);
    }
  });

  it("ends the invocation only after the settlement of a stream the client left", async () => {
    // An upstream that sends one chunk and then nothing, until it is aborted.
    const upstreamAbort = new AbortController();
    const upstream = (async function* () {
      yield new TextEncoder().encode('data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n');
      await new Promise((_, reject) =>
        upstreamAbort.signal.addEventListener("abort", () => reject(new Error("aborted"))),
      );
    })();
    const settled: string[] = [];
    const api: Dispatch = async (_request, context) => {
      const relay = new CompletionStreamRelay({ kind: "chat", stripUsage: false }, (outcome, r) =>
        context.afterResponse(async () => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          settled.push(`${outcome}:${r.deliveredText}`);
        }),
      );
      return {
        status: 200,
        headers: {},
        body: relaySse(upstream, relay, () => upstreamAbort.abort()),
      };
    };
    // The prelude and the first body chunk reach the client; then it hangs up.
    await invoke(api, (count, stream) => {
      if (count === 3) setImmediate(() => stream.destroy(new Error("the client closed")));
    });
    expect(upstreamAbort.signal.aborted).toBe(true);
    expect(settled).toEqual(["client_closed:Hi"]);
  });
});

/**
 * A response stream that takes `capacity` bytes before it says it is full, and drains only
 * when the test says so: what a slow client does to Lambda's response stream.
 */
function slowClient(capacity: number) {
  const written: string[] = [];
  const pending: (() => void)[] = [];
  const out = new Writable({
    highWaterMark: capacity,
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      pending.push(() => done());
    },
  });
  return {
    out,
    written,
    /** Lets every write made so far complete. */
    drain: () => {
      for (const done of pending.splice(0)) done();
    },
  };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("sendBody: a response's body to the response stream", () => {
  it("writes a whole body and ends the stream, and waits while a stream body finds it full", async () => {
    const plain = slowClient(1024);
    const sent = sendBody("whole", plain.out, () => {});
    await tick();
    plain.drain();
    await sent;
    expect(plain.written).toEqual(["whole"]);
    expect(plain.out.writableFinished).toBe(true);

    const client = slowClient(4);
    const asked: number[] = [];
    const body = (async function* () {
      for (let i = 0; i < 3; i++) {
        asked.push(i);
        yield bytes(`chunk ${i};`);
      }
    })();
    let firstBytes = 0;
    const streaming = sendBody(body, client.out, () => firstBytes++);
    await tick();
    // Full after the first chunk: the body is not asked for more until the stream drains.
    expect(client.written).toEqual(["chunk 0;"]);
    expect(asked).toEqual([0]);
    for (let i = 0; i < 3; i++) {
      client.drain();
      await tick();
    }
    await streaming;
    expect(client.written.join("")).toBe("chunk 0;chunk 1;chunk 2;");
    expect(client.out.writableFinished).toBe(true);
    expect(firstBytes).toBeGreaterThan(0);
  });

  it("throws the client's leaving into a body that waits for the stream to drain, and returns once the body has ended", async () => {
    const client = slowClient(4);
    const seen: string[] = [];
    const body = (async function* () {
      try {
        yield bytes("first;");
        yield bytes("never read;");
      } catch (err) {
        seen.push(`thrown: ${(err as Error).message}`);
      } finally {
        await tick();
        seen.push("ended");
      }
    })();
    const sending = sendBody(body, client.out, () => {});
    await tick();
    client.out.destroy(new Error("the client closed"));
    await sending;
    expect(seen).toEqual(["thrown: the client closed", "ended"]);
    expect(client.written).toEqual(["first;"]);
  });

  it("destroys the stream with the error of a body that fails", async () => {
    const client = slowClient(1024);
    const failed = new Promise<Error>((resolve) => client.out.once("error", resolve));
    const body = (async function* () {
      yield bytes("part;");
      throw new Error("the upstream broke");
    })();
    await sendBody(body, client.out, () => {});
    expect((await failed).message).toBe("the upstream broke");
    expect(client.out.destroyed).toBe(true);
  });
});

describe("a cache's refresh behind a stale value", () => {
  installAwsLambdaGlobal();

  it("starts once the call's response has ended, and ends before the invocation does", async () => {
    let time = 0;
    const cache = new TtlCache<string, string>(1_000, { now: () => time });
    const events: string[] = [];
    let loads = 0;
    const load = async () => {
      events.push("refresh started");
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push("refresh ended");
      return `v${++loads}`;
    };
    await cache.get("k", load);
    events.length = 0;
    time = 1_500;
    const api: Dispatch = async () => ({
      status: 200,
      headers: {},
      body: await cache.get("k", load),
    });
    const stream = new LocalResponseStream({
      start: () => {},
      write: async () => {
        events.push("written");
      },
      end: () => events.push("response ended"),
    });
    const handler = streamingHandler(api, { log: capturedLog().log }) as unknown as (
      ...args: unknown[]
    ) => Promise<unknown>;
    await handler(event({}), stream, localContext("test"));
    events.push("invocation ended");
    expect(events.slice(-4)).toEqual([
      "response ended",
      "refresh started",
      "refresh ended",
      "invocation ended",
    ]);
    expect(events.indexOf("written")).toBeLessThan(events.indexOf("refresh started"));
    expect(await cache.get("k", load)).toBe("v2");
  });
});

/** An async iterable whose iterator has already begun (so `return` runs its `finally`). */
function started(body: AsyncGenerator<Uint8Array>): AsyncIterable<Uint8Array> {
  const first = body.next();
  let primed = false;
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        if (primed) return body.next();
        primed = true;
        return first;
      },
      return: (value?: unknown) => body.return(value as undefined),
    }),
  };
}

describe("the local function URL server", () => {
  installAwsLambdaGlobal();

  it("turns a prelude node:http cannot send into a 500 in the path's envelope, and stays up", async () => {
    const handler = awslambda.streamifyResponse(async (event: LambdaFunctionURLEvent, stream) => {
      const headers = event.rawPath === "/ok" ? { "x-fine": "yes" } : { "x-name": "résumé-файл" };
      const out = awslambda.HttpResponseStream.from(stream, { statusCode: 200, headers });
      out.end("body");
    });
    const { log, lines } = capturedLog({ functionName: "test" });
    const server = await startFunctionUrlServer({ handler, functionName: "test", log });
    try {
      const v1 = await fetch(`${server.url}/v1/files/x/content`);
      expect(v1.status).toBe(500);
      expect(((await v1.json()) as { error: { type: string } }).error.type).toBe("server_error");
      const management = await fetch(`${server.url}/api/user/self`);
      expect(management.status).toBe(500);
      expect(await management.json()).toMatchObject({ success: false });
      const ok = await fetch(`${server.url}/ok`);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe("body");
      // Each refusal is the server's own error line, through the Logger it was given.
      const refused = lines.filter(
        (line) => line.message === "the handler's response prelude cannot be sent",
      );
      expect(refused).toHaveLength(2);
      expect(refused[0]).toMatchObject({ level: "ERROR", function_name: "test" });
      expect(refused[0]?.error).toMatchObject({ name: "TypeError" });
    } finally {
      await server.close();
    }
  });

  it("takes the test's header off the request, and runs the invocation on that test's behalf", async () => {
    const seen: { header?: string; test?: string }[] = [];
    const handler = awslambda.streamifyResponse(async (event: LambdaFunctionURLEvent, stream) => {
      // Seen after a turn of the event loop, as lines logged later in an invocation are.
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push({ header: event.headers[TEST_HEADER], test: currentTest() });
      awslambda.HttpResponseStream.from(stream, { statusCode: 204, headers: {} }).end();
    });
    const server = await startFunctionUrlServer({ handler, functionName: "test" });
    try {
      await Promise.all(
        ["test-a", "test-b", undefined].map((test) =>
          fetch(`${server.url}/v1/models`, { headers: test ? { [TEST_HEADER]: test } : {} }),
        ),
      );
      expect(seen.map((s) => s.test).sort()).toEqual(["test-a", "test-b", undefined]);
      expect(seen.every((s) => s.header === undefined)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe("AfterResponseTasks", () => {
  it("runs every task once however often asked, and a failing task does not stop the others", async () => {
    const { log, lines } = capturedLog();
    const tasks = new AfterResponseTasks("req_test", log);
    const ran: string[] = [];
    tasks.afterResponse(async () => {
      ran.push("settle");
    });
    tasks.afterResponse(async () => {
      throw new Error("log write failed");
    });
    tasks.afterResponse(async () => {
      ran.push("log");
    });
    expect(ran).toEqual([]);
    await Promise.all([tasks.run(), tasks.run()]);
    await tasks.run();
    expect(ran).toEqual(["settle", "log"]);
    // The failure is logged once, for the alarm on failed settlements (infra/constructs).
    expect(lines).toEqual([
      expect.objectContaining({
        level: "ERROR",
        message: "after-response task failed",
        requestId: "req_test",
        error: expect.stringContaining("log write failed"),
      }),
    ]);
  });
});
