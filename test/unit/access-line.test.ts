/**
 * The access line is made by sluice itself, not by Powertools (shared/observability.ts:
 * SluiceLogger.line and callMetrics), because Powertools' per-line work cost about a tenth of
 * a call's CPU at 128 MB's share. What it writes must stay what Powertools would: the same
 * text, key for key and in the same order, for the Logger's part (against Logger.info on the
 * same Logger), and the same object for the metrics' part (against Metrics.serializeMetrics
 * after the same metrics were added).
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AccessRecord,
  callMetrics,
  createLogger,
  infoLine,
  METRICS_NAMESPACE,
} from "../../shared/observability";

const saved = { ...process.env };
afterEach(() => {
  for (const name of [
    "_X_AMZN_TRACE_ID",
    "TZ",
    "POWERTOOLS_LOGGER_SAMPLE_RATE",
    "POWERTOOLS_DEV",
  ]) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

/** A Logger writing to a list, and its lines with the timestamps made equal. */
function logger(functionName?: string, level: "INFO" | "WARN" = "INFO") {
  const lines: string[] = [];
  const log = createLogger({ level, functionName, sink: (line) => lines.push(line) });
  const same = () => lines.map((line) => line.replace(/"timestamp":"[^"]*"/, '"timestamp":"T"'));
  return { log, lines, same };
}

const records: AccessRecord[] = [
  {
    requestId: "req_1",
    method: "POST",
    path: "/v1/chat/completions",
    status: 200,
    firstByteMs: 12.34,
    totalMs: 30.06,
    notes: { model: "gpt-4o-mini", channel: "ch_1", outcome: "ok", promptTokens: 10 },
    lambdaRequestId: "3f1c-aa",
    coldStart: true,
  },
  {
    requestId: "req_2",
    method: "GET",
    path: "/v1/models",
    status: 429,
    totalMs: 0.04,
    notes: {},
    coldStart: false,
  },
  {
    requestId: "req_3",
    method: "POST",
    path: "/v1/embeddings",
    status: 502,
    firstByteMs: 0,
    totalMs: 1500,
    notes: { model: "", channel: undefined, completionTokens: 0 },
  },
];

/** The fields recordAccess gives a line, with values Powertools drops (empty, null, undefined). */
function fields(access: AccessRecord): Record<string, unknown> {
  return {
    requestId: access.requestId,
    status: access.status,
    lambdaRequestId: access.lambdaRequestId,
    coldStart: access.coldStart,
    empty: "",
    none: null,
    zero: 0,
    no: false,
    ...access.notes,
    ...metricsOf(access),
  };
}

/** The call's metrics as they ride in its line: without `service`, which the line has. */
function metricsOf(access: AccessRecord): Record<string, unknown> {
  const { service: _, ...emf } = callMetrics(access);
  return emf;
}

describe("the access line sluice writes itself", () => {
  it("is the text Powertools' Logger writes for the same fields", () => {
    for (const functionName of [undefined, "sluice-api"]) {
      for (const trace of [
        undefined,
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
      ]) {
        if (trace) process.env._X_AMZN_TRACE_ID = trace;
        else delete process.env._X_AMZN_TRACE_ID;
        for (const access of records) {
          const ours = logger(functionName);
          const theirs = logger(functionName);
          const line = fields(access);
          infoLine(ours.log, "access", line);
          theirs.log.info("access", line);
          expect(ours.same()).toEqual(theirs.same());
        }
      }
    }
    // Persistent keys added later (the local stack's stand-ins) are on the line too.
    const ours = logger("local");
    const theirs = logger("local");
    for (const { log } of [ours, theirs]) log.appendPersistentKeys({ stand_in: "janitor" });
    const line = fields(records[0] as AccessRecord);
    infoLine(ours.log, "access", line);
    theirs.log.info("access", line);
    expect(ours.same()).toEqual(theirs.same());
    expect(JSON.parse(ours.lines[0] as string).stand_in).toBe("janitor");

    // Below the Logger's level, nothing, as from info().
    const quiet = logger(undefined, "WARN");
    infoLine(quiet.log, "access", line);
    quiet.log.info("access", line);
    expect(quiet.lines).toEqual([]);
  });

  it("leaves the line to Powertools where its output differs: a Lambda context, temporary keys, another time zone, sampling", () => {
    const cases: [string, (log: ReturnType<typeof logger>["log"]) => void][] = [
      [
        "context",
        (log) =>
          log.addContext({
            functionName: "sluice-janitor",
            invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:sluice-janitor",
            awsRequestId: "c6af9ac6",
            memoryLimitInMB: "128",
          } as never),
      ],
      ["keys", (log) => log.appendKeys({ batch: "b_1" })],
      ["correlation", (log) => log.setCorrelationId("corr-1")],
      ["zone", () => (process.env.TZ = "Asia/Shanghai")],
      ["sampling", () => (process.env.POWERTOOLS_LOGGER_SAMPLE_RATE = "0.5")],
    ];
    for (const [what, change] of cases) {
      const ours = logger();
      const theirs = logger();
      change(ours.log);
      change(theirs.log);
      const line = fields(records[0] as AccessRecord);
      infoLine(ours.log, "access", line);
      theirs.log.info("access", line);
      // The timestamps themselves are Powertools' (with its offset in another zone).
      expect(ours.same(), what).toEqual(theirs.same());
      delete process.env.TZ;
      delete process.env.POWERTOOLS_LOGGER_SAMPLE_RATE;
    }
  });

  it("carries the metrics Powertools' Metrics would serialise for the call", () => {
    for (const access of records) {
      const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "sluice" });
      metrics.addDimension("statusClass", `${Math.floor(access.status / 100)}xx`);
      if (access.notes.model) metrics.addDimension("model", access.notes.model);
      metrics.addMetric("Calls", MetricUnit.Count, 1);
      if (access.firstByteMs !== undefined)
        metrics.addMetric(
          "FirstByteLatency",
          MetricUnit.Milliseconds,
          Math.round(access.firstByteMs * 10) / 10,
        );
      metrics.addMetric("Duration", MetricUnit.Milliseconds, Math.round(access.totalMs * 10) / 10);
      const theirs = metrics.serializeMetrics() as Record<string, { Timestamp: number }>;
      const ours = callMetrics(access) as Record<string, { Timestamp: number }>;
      expect(Math.abs((ours._aws?.Timestamp ?? 0) - (theirs._aws?.Timestamp ?? 0))).toBeLessThan(
        60_000,
      );
      for (const emf of [ours, theirs]) if (emf._aws) emf._aws.Timestamp = 0;
      expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
    }
  });
});
