/**
 * The access line and metrics of a call, written by the streaming edge through Powertools:
 * one JSON access line with what the route noted and the call's metrics in the embedded metric
 * format (a metrics line of its own when the access line is not written), each call's own even
 * when calls overlap in one process (managed instances) or count events meanwhile. And the Loggers the
 * functions make: each its own, at the level its settings give, whatever Lambda's own filter.
 */
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { streamingHandler } from "../../functions/api/function-url";
import { installAwsLambdaGlobal, LocalResponseStream } from "../../infra/local/awslambda";
import { localContext } from "../../infra/local/lambda-context";
import type { Dispatch } from "../../shared/http/dispatch";
import { countEvent, createLogger, recordAccess } from "../../shared/observability";
import { capturedLog, type LogLine } from "../fixtures/logs";

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

async function invoke(
  api: Dispatch,
  path: string,
  requestId: string,
  options: Parameters<typeof streamingHandler>[1],
): Promise<void> {
  const stream = new LocalResponseStream({ start: () => {}, write: async () => {}, end: () => {} });
  const handler = streamingHandler(api, options) as unknown as (
    ...args: unknown[]
  ) => Promise<unknown>;
  await handler(event(path, requestId), stream, localContext("test"));
}

describe("access lines and metrics", () => {
  let metrics: LogLine[];
  const saved = { ...process.env };
  beforeEach(() => {
    // The integration tests' stack leaves metrics out; this test is about them. In dev mode
    // Powertools writes them through the console (as vitest's config asks).
    process.env.POWERTOOLS_METRICS_DISABLED = "false";
    process.env.POWERTOOLS_DEV = "true";
    metrics = [];
    vi.spyOn(console, "log").mockImplementation((text: unknown) => {
      metrics.push(JSON.parse(String(text)));
    });
  });
  /** The metrics lines of their own (the capturing Logger's lines go to the console too). */
  const metricsLines = () => metrics.filter((line) => line._aws && line.message === undefined);
  afterEach(() => {
    vi.restoreAllMocks();
    for (const name of ["POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it("writes each call's own access line and metrics, however the calls overlap", async () => {
    const { log, lines } = capturedLog({ level: "INFO" });
    let open!: () => void;
    const release = new Promise<void>((resolve) => {
      open = resolve;
    });
    const calls = [
      invoke(
        route("model-a", 200, release),
        "/v1/chat/completions",
        "aaaaaaaa-0000-0000-0000-000000000001",
        { log },
      ),
      invoke(
        route("model-bb", 429, release),
        "/v1/embeddings",
        "bbbbbbbb-0000-0000-0000-000000000002",
        { log },
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

    // Each access line carries its own call's metrics (EMF beside the access fields); no
    // metrics line of its own besides.
    expect(metricsLines()).toEqual([]);
    expect(metrics.filter((line) => line.level === "WARN")).toEqual([]);
    const byModel = Object.fromEntries(access.map((line) => [line.model, line]));
    expect(byModel["model-a"]).toMatchObject({ statusClass: "2xx", Calls: 1, status: 200 });
    expect(byModel["model-bb"]).toMatchObject({ statusClass: "4xx", Calls: 1, status: 429 });
    const dimensions = (byModel["model-a"] as { _aws: { CloudWatchMetrics: LogLine[] } })._aws
      .CloudWatchMetrics[0]?.Dimensions;
    expect(dimensions).toEqual([["service", "statusClass", "model"]]);
    const meta = (byModel["model-a"] as { _aws: { CloudWatchMetrics: LogLine[] } })._aws
      .CloudWatchMetrics[0] as LogLine;
    expect(meta.Namespace).toBe("Sluice");
    expect(meta.Metrics.map((m: LogLine) => m.Name)).toEqual(
      expect.arrayContaining(["Calls", "FirstByteLatency", "Duration"]),
    );
  });

  it("writes the access line of a sampled share of successes, of every failure, and counts all", async () => {
    const { log, lines } = capturedLog({ level: "INFO" });
    const call = (status: number, id: number) =>
      invoke(route("m", status, Promise.resolve()), "/v1/embeddings", `${id}`.padStart(8, "0"), {
        log,
        accessLogSample: 0,
      });
    await Promise.all([call(200, 1), call(200, 2), call(500, 3), call(429, 4)]);
    expect(lines.map((line) => line.status).sort()).toEqual([429, 500]);
    // Every call counted once: the failures in their access lines, the successes whose line
    // was not written in a metrics line of their own.
    expect(lines.filter((line) => line.Calls === 1)).toHaveLength(2);
    expect(metrics.filter((line) => line.Calls === 1 && line.statusClass === "2xx")).toHaveLength(
      2,
    );
    expect(metricsLines()).toHaveLength(2);
  });

  it("keeps counting calls when the access line is off by level, and writes none with metrics off", async () => {
    const quiet = capturedLog({ level: "WARN" });
    await invoke(route("m", 200, Promise.resolve()), "/v1/embeddings", "00000007", {
      log: quiet.log,
    });
    expect(quiet.lines).toEqual([]);
    expect(metricsLines().filter((line) => line.Calls === 1)).toHaveLength(1);

    process.env.POWERTOOLS_METRICS_DISABLED = "true";
    const { log, lines } = capturedLog({ level: "INFO" });
    await invoke(route("m", 200, Promise.resolve()), "/v1/embeddings", "00000008", { log });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ message: "access", status: 200 });
    expect(lines[0]?._aws).toBeUndefined();
    expect(lines[0]?.Calls).toBeUndefined();
    expect(metricsLines()).toHaveLength(1);
  });

  it("keeps events counted during a call, and a count that failed, out of the call's line", async () => {
    const { log, lines } = capturedLog({ level: "INFO" });
    const counting: Dispatch = async (_request, context) => {
      context.note?.({ model: "m", channel: "ch-m" });
      countEvent("UpstreamErrors", 1, { channel: "ch-other" });
      // A metric name Powertools refuses: it throws with its dimension already added.
      expect(() => countEvent("", 1, { channel: "leftover" })).toThrow();
      return { status: 200, headers: {}, body: "ok" };
    };
    await invoke(counting, "/v1/embeddings", "00000009", { log });
    const [line] = lines.filter((l) => l.message === "access");
    expect(line).toMatchObject({ channel: "ch-m", statusClass: "2xx", Calls: 1 });
    expect(line?.UpstreamErrors).toBeUndefined();
    expect(line?._aws.CloudWatchMetrics[0].Dimensions).toEqual([
      ["service", "statusClass", "model"],
    ]);
    expect(metricsLines()).toEqual([
      expect.objectContaining({ UpstreamErrors: 1, channel: "ch-other" }),
    ]);
  });

  it("counts events with their dimensions, and nothing for none", () => {
    countEvent("HoldsRefused", 1, { reason: "quota" });
    countEvent("HoldsReaped", 0);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ reason: "quota", HoldsRefused: 1, service: "sluice" });
  });
});

describe("each function's Logger", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** A Logger with a sink, and its lines parsed. */
  function logger(options: Omit<Parameters<typeof createLogger>[0], "sink">) {
    const lines: LogLine[] = [];
    const log = createLogger({ ...options, sink: (line) => lines.push(JSON.parse(line)) });
    return { log, lines };
  }

  it("names its own function on every line, whatever another function's context says", () => {
    const api = logger({ level: "INFO", functionName: "sluice-api" });
    const janitor = logger({ level: "INFO", functionName: "sluice-janitor" });
    // The janitor's invocation context, as injectLambdaContext adds it.
    janitor.log.addContext(localContext("sluice-janitor"));
    janitor.log.info("janitor sweep");
    recordAccess(api.log, {
      requestId: "req_1",
      method: "GET",
      path: "/v1/models",
      status: 200,
      totalMs: 1,
      notes: {},
    });
    expect(api.lines).toEqual([
      expect.objectContaining({ message: "access", function_name: "sluice-api" }),
    ]);
    expect(api.lines[0]?.function_request_id).toBeUndefined();
    expect(janitor.lines).toEqual([
      expect.objectContaining({ message: "janitor sweep", function_name: "sluice-janitor" }),
    ]);
  });

  it("writes at the level its settings give", () => {
    const quiet = logger({ level: "WARN" });
    const chatty = logger({ level: "DEBUG" });
    for (const { log } of [quiet, chatty]) {
      log.debug("d");
      log.info("i");
      log.warn("w");
    }
    expect(quiet.lines.map((line) => line.message)).toEqual(["w"]);
    expect(chatty.lines.map((line) => line.message)).toEqual(["d", "i", "w"]);
  });

  it("keeps a level stricter than Lambda's log-level filter, which stays at INFO for the metric lines", () => {
    // What Lambda sets for a function whose application log level is INFO.
    vi.stubEnv("AWS_LAMBDA_LOG_LEVEL", "INFO");
    const quiet = logger({ level: "WARN" });
    quiet.log.info("an access line");
    quiet.log.warn("a warning");
    expect(quiet.lines.map((line) => line.message)).toEqual(["a warning"]);
    // A child (createChild) keeps both the level and where the lines go.
    quiet.log.createChild({ persistentKeys: { part: "child" } }).info("not written");
    quiet.log.createChild({ persistentKeys: { part: "child" } }).error("written");
    expect(quiet.lines.at(-1)).toMatchObject({ message: "written", part: "child" });
    expect(quiet.lines).toHaveLength(2);
  });
});
