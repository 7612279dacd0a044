import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  AfterResponseTasks,
  toGatewayRequest,
  toStreamingResult,
} from "../../functions/api/function-url";
import {
  installAwsLambdaGlobal,
  LocalResponseStream,
  PreludeDecoder,
} from "../../infra/local/awslambda";
import { CompletionStreamRelay } from "../../shared/stream/completion-stream";
import { relaySse } from "../../shared/stream/relay-stream";

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
});

describe("the local awslambda runtime", () => {
  it("writes the prelude ahead of the body, as HttpResponseStream does, and decodes it back", async () => {
    installAwsLambdaGlobal();
    const received: Buffer[] = [];
    let contentType = "";
    const stream = new LocalResponseStream({
      start: (type) => {
        contentType = type;
      },
      write: async (chunk) => {
        received.push(Buffer.from(chunk));
      },
      end: () => {},
    });
    const { result } = toStreamingResult({
      status: 201,
      headers: { "content-type": "text/plain" },
      body: (async function* () {
        yield new TextEncoder().encode("hello ");
        yield new TextEncoder().encode("world");
      })(),
    });
    const { body, ...prelude } = result;
    await pipeline(body, awslambda.HttpResponseStream.from(stream as unknown as Writable, prelude));
    expect(contentType).toBe("application/vnd.awslambda.http-integration-response");

    // Decode byte by byte: the separator can be split anywhere.
    const decoder = new PreludeDecoder();
    let text = "";
    for (const byte of Buffer.concat(received)) {
      const rest = decoder.push(Uint8Array.of(byte));
      if (rest) text += Buffer.from(rest).toString();
    }
    expect(decoder.prelude).toEqual({ statusCode: 201, headers: { "content-type": "text/plain" } });
    expect(text).toBe("hello world");
  });

  it("turns byte and string bodies into streams, and says when one has been read", async () => {
    for (const body of [new Uint8Array([104, 105]), "hi"]) {
      const { result, closed } = toStreamingResult({ status: 200, headers: {}, body });
      let isClosed = false;
      void closed.then(() => {
        isClosed = true;
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(isClosed).toBe(false);
      const chunks: Buffer[] = [];
      await pipeline(
        result.body,
        new Writable({
          write(chunk, _enc, done) {
            chunks.push(chunk);
            done();
          },
        }),
      );
      await closed;
      expect(Buffer.concat(chunks).toString()).toBe("hi");
    }
  });

  it("says the body has closed when the client goes away, once the relay has registered its settlement", async () => {
    // An upstream that sends one chunk and then nothing, until it is aborted.
    const upstreamAbort = new AbortController();
    const upstream = (async function* () {
      yield new TextEncoder().encode('data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n');
      await new Promise((_, reject) =>
        upstreamAbort.signal.addEventListener("abort", () => reject(new Error("aborted"))),
      );
    })();
    const tasks = new AfterResponseTasks("req_test");
    const settled: string[] = [];
    const relay = new CompletionStreamRelay({ kind: "chat", stripUsage: false }, (outcome, r) =>
      tasks.afterResponse(async () => {
        settled.push(`${outcome}:${r.deliveredText}`);
      }),
    );
    const { result, closed } = toStreamingResult({
      status: 200,
      headers: {},
      body: relaySse(upstream, relay, () => upstreamAbort.abort()),
    });
    const client = new Writable({
      write(_chunk, _enc, done) {
        done();
        client.destroy(new Error("client went away"));
      },
    });
    await expect(pipeline(result.body, client)).rejects.toThrow("client went away");
    await closed;
    await tasks.run();
    expect(upstreamAbort.signal.aborted).toBe(true);
    expect(settled).toEqual(["client_closed:Hi"]);
  });
});

describe("AfterResponseTasks", () => {
  it("runs every task once however often asked, and a failing task does not stop the others", async () => {
    const tasks = new AfterResponseTasks("req_test");
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
  });
});
