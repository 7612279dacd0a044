/**
 * The access line and metrics of a call, written by the streaming edge through Powertools:
 * one JSON access line with what the route noted, and one embedded-metric-format line, each
 * call's own even when calls overlap in one process (managed instances).
 */
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { streamingHandler } from "../../functions/api/function-url";
import { installAwsLambdaGlobal, LocalResponseStream } from "../../infra/local/awslambda";
import { localContext } from "../../infra/local/lambda-context";
import type { Dispatch } from "../../shared/http/dispatch";
import { countEvent, logger } from "../../shared/observability";

installAwsLambdaGlobal();

function event(path: string, requestId: string): LambdaFunctionURLEvent {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: {},
    requestContext: {
      accountId: "anonymous",
      apiId: "x",
      domainName: "x.lambda-url.us-east-1.on.aws",
      domainPrefix: "x",
      http: { method: "POST", path, protocol: "HTTP/1.1", sourceIp: "1.2.3.4", userAgent: "t" },
      requestId,
      routeKey: "$default",
      stage: "$default",
      time: "",
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  };
}

/** A route that notes its model and channel, waits for `release`, and answers `status`. */
function route(model: string, status: number, release: Promise<void>): Dispatch {
  return async (_request, context) => {
    context.note?.({ model, channel: `ch-${model}` });
    await release;
    context.afterResponse(async () => context.note?.({ promptTokens: model.length }));
    return { status, headers: { "content-type": "text/plain" }, body: `answer of ${model}` };
  };
}

async function invoke(api: Dispatch, path: string, requestId: string): Promise<void> {
  const stream = new LocalResponseStream({ start: () => {}, write: async () => {}, end: () => {} });
  const handler = streamingHandler(api) as unknown as (...args: unknown[]) => Promise<unknown>;
  await handler(event(path, requestId), stream, localContext("test"));
}

describe("access lines and metrics", () => {
  let lines: Record<string, unknown>[];
  const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
  beforeEach(() => {
    // The integration tests' stack quiets both; this test is about them.
    process.env.POWERTOOLS_METRICS_DISABLED = "false";
    logger.setLogLevel("INFO");
    lines = [];
    // Powertools writes through the console's stdout (and stderr for errors).
    const capture = (text: unknown) => {
      for (const line of String(text).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      return true;
    };
    vi.spyOn(process.stdout, "write").mockImplementation(capture as never);
    vi.spyOn(process.stderr, "write").mockImplementation(capture as never);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    if (disabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = disabled;
  });

  it("writes each call's own access line and metrics, however the calls overlap", async () => {
    let open!: () => void;
    const release = new Promise<void>((resolve) => {
      open = resolve;
    });
    const calls = [
      invoke(
        route("model-a", 200, release),
        "/v1/chat/completions",
        "aaaaaaaa-0000-0000-0000-000000000001",
      ),
      invoke(
        route("model-bb", 429, release),
        "/v1/embeddings",
        "bbbbbbbb-0000-0000-0000-000000000002",
      ),
    ];
    open();
    await Promise.all(calls);

    const access = lines.filter((line) => line.message === "access");
    expect(access).toHaveLength(2);
    const a = access.find((line) => line.requestId === "req_aaaaaaaa000000000000000000000001");
    const b = access.find((line) => line.requestId === "req_bbbbbbbb000000000000000000000002");
    expect(a).toMatchObject({
      level: "INFO",
      service: "sluice",
      method: "POST",
      path: "/v1/chat/completions",
      status: 200,
      model: "model-a",
      channel: "ch-model-a",
      promptTokens: "model-a".length,
    });
    expect(b).toMatchObject({ path: "/v1/embeddings", status: 429, model: "model-bb" });
    expect(b?.promptTokens).toBe("model-bb".length);
    for (const line of [a, b]) {
      expect(typeof line?.totalMs).toBe("number");
      expect(typeof line?.firstByteMs).toBe("number");
    }

    const emf = lines.filter((line) => line._aws !== undefined);
    expect(emf).toHaveLength(2);
    const byModel = Object.fromEntries(emf.map((line) => [line.model, line]));
    expect(byModel["model-a"]).toMatchObject({ status: "2xx", Calls: 1 });
    expect(byModel["model-bb"]).toMatchObject({ status: "4xx", Calls: 1 });
    const meta = (byModel["model-a"] as { _aws: { CloudWatchMetrics: Json[] } })._aws
      .CloudWatchMetrics[0] as Json;
    expect(meta.Namespace).toBe("Sluice");
    expect(meta.Metrics.map((m: Json) => m.Name)).toEqual(
      expect.arrayContaining(["Calls", "FirstByteLatency", "Duration"]),
    );
  });

  it("counts events with their dimensions, and nothing for none", () => {
    countEvent("HoldsRefused", 1, { reason: "quota" });
    countEvent("HoldsReaped", 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reason: "quota", HoldsRefused: 1, service: "sluice" });
  });
});

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON
type Json = any;
