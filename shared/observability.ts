import { getXRayTraceIdFromEnv, isDevMode } from "@aws-lambda-powertools/commons/utils/env";
import { Logger, type LogItem, LogLevelThreshold } from "@aws-lambda-powertools/logger";
import type {
  ConstructorOptions,
  LogItemExtraInput,
  LogItemMessage,
} from "@aws-lambda-powertools/logger/types";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { LogLevel } from "./config/settings";

// sluice's logs and metrics, through Powertools for AWS Lambda: JSON log lines and CloudWatch
// metrics in the embedded metric format, which CloudWatch takes from the log lines themselves
// (no API call). Each function makes its own Logger where it starts (functions/*, and the
// local stack for each of its functions and stand-ins) and hands it down (services.log).

/** Where a Logger's lines go instead of stdout, one JSON line at a time (a test run's buffer). */
export type LogSink = (line: string) => void;

export interface LoggerOptions {
  /** The least severe level written: the function's settings (SLUICE_LOG_LEVEL). */
  level: LogLevel;
  /**
   * Written on every line as `function_name`, where functions share one output (the local
   * stack). On Lambda each function has a log group of its own, and the lines no name.
   */
  functionName?: string;
  /** Where the lines go; stdout (on Lambda, CloudWatch Logs) when absent. */
  sink?: LogSink;
}

/** A function's Logger: service `sluice`, at the level its settings give. */
export function createLogger(options: LoggerOptions): Logger {
  return new SluiceLogger(options);
}

/**
 * Powertools' Logger, with two things it leaves to subclasses: another destination than
 * stdout, and a level it keeps whatever Lambda's log-level filter says. On Lambda that filter
 * (Advanced Logging Controls, infra/constructs/function-defaults.ts) sets the level Powertools
 * follows, and it stays at INFO or below so that the metric lines (which carry no level, so
 * count as INFO) pass it: a SLUICE_LOG_LEVEL of WARN or ERROR is applied here.
 */
class SluiceLogger extends Logger {
  private readonly options: LoggerOptions;
  /** The least severe level written (recordAccess asks, to know where the metrics go). */
  readonly least: number;

  /**
   * Whether this Logger's lines are only what `line()` writes itself: its own service, level
   * and persistent keys, no Lambda context, temporary keys or correlation id (which the API's
   * Logger never gets; the other functions' do).
   */
  private plain: boolean;

  /** `inherited`: what createChild() passes on (the parent's service, level and keys). */
  constructor(options: LoggerOptions, inherited?: ConstructorOptions) {
    super(
      inherited ?? {
        serviceName: "sluice",
        logLevel: options.level,
        persistentKeys: options.functionName ? { function_name: options.functionName } : {},
      },
    );
    this.options = options;
    this.least = LogLevelThreshold[options.level];
    this.plain = inherited === undefined;
  }

  /**
   * An INFO line, as `info(message, fields)` writes it (test/unit/access-line.test.ts holds
   * the two to the same text), made without Powertools' per-line work: its attribute stores,
   * deep merge and formatter cost as much CPU as the rest of the call's line and metrics (a
   * call at 128 MB's CPU share spends about a tenth less with none of it). Only for a plain
   * Logger in a plain environment; otherwise Powertools writes it. Nothing below the Logger's
   * level, as info() writes nothing then.
   */
  line(message: string, fields: Record<string, unknown>): void {
    if (!writesInfo(this)) return;
    const env = process.env;
    const tz = env.TZ;
    if (
      !this.plain ||
      (tz && !tz.includes("UTC")) ||
      env.POWERTOOLS_LOGGER_SAMPLE_RATE !== undefined ||
      // isDevMode() throws and catches an Error when POWERTOOLS_DEV is unset: not per call.
      (!this.options.sink && env.POWERTOOLS_DEV !== undefined && isDevMode())
    ) {
      this.info(message, fields);
      return;
    }
    // Powertools' attributes in its order (a key the Logger's own keys or the fields repeat
    // keeps its place there); JSON leaves out those undefined.
    const line: Record<string, unknown> = {
      level: "INFO",
      message,
      timestamp: new Date().toISOString(),
      service: "sluice",
      cold_start: undefined,
      function_arn: undefined,
      function_memory_size: undefined,
      function_name: undefined,
      function_request_id: undefined,
      sampling_rate: 0,
      xray_trace_id: getXRayTraceIdFromEnv(),
      tenant_id: undefined,
    };
    for (const source of [this.getPersistentLogAttributes(), fields]) {
      for (const key in source) {
        const value = source[key];
        line[key] = value === null || value === "" ? undefined : value;
      }
    }
    const text = JSON.stringify(line);
    if (this.options.sink) this.options.sink(text);
    else process.stdout.write(`${text}\n`);
  }

  override addContext(...args: Parameters<Logger["addContext"]>): void {
    this.plain = false;
    super.addContext(...args);
  }

  override appendKeys(attributes: Parameters<Logger["appendKeys"]>[0]): void {
    this.plain = false;
    super.appendKeys(attributes);
  }

  override setCorrelationId(...args: Parameters<Logger["setCorrelationId"]>): void {
    this.plain = false;
    super.setCorrelationId(...args);
  }

  protected override processLogItem(
    logLevel: number,
    input: LogItemMessage,
    extraInput: LogItemExtraInput,
  ): void {
    // `least` is unset only while Powertools' own constructor runs: its warnings go through.
    if (logLevel < this.least) return;
    super.processLogItem(logLevel, input, extraInput);
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    const sink = this.options?.sink;
    if (!sink) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }

  /** What createChild() makes: a child keeps the destination and the level. */
  protected override createLogger(options?: ConstructorOptions): Logger {
    return new SluiceLogger(this.options, options);
  }
}

export const METRICS_NAMESPACE = "Sluice";

/** What one call to the API came to: its access line and its metrics. */
export interface AccessRecord {
  requestId: string;
  method: string;
  path: string;
  status: number;
  /** Milliseconds from the request's arrival to the response's first byte. */
  firstByteMs?: number;
  totalMs: number;
  /** What the route noted: model, channel, outcome, tokens, units. */
  notes: CallNotes;
  lambdaRequestId?: string;
  coldStart?: boolean;
}

/** True for the first invocation of this process only. */
export const coldStart = {
  first: true,
  take(): boolean {
    const first = this.first;
    this.first = false;
    return first;
  },
};

export interface CallNotes {
  model?: string;
  channel?: string;
  outcome?: string;
  promptTokens?: number;
  completionTokens?: number;
}

/**
 * One line per call, with its metrics: calls by status class and model, time to the first byte
 * and in all. The access line of a success is written for a share `successSample` of them
 * (settings.log.accessSample), a failure's always, and it carries the call's metrics in
 * CloudWatch's embedded metric format (EMF keys beside the access fields); a call whose access
 * line is not written still gets a metrics line of its own. One line, one write: each write
 * is a system call, and the metrics line was a third of a call's writes to stdout and pipes.
 */
export function recordAccess(log: Logger, access: AccessRecord, successSample = 1): void {
  const written = (access.status >= 400 || Math.random() < successSample) && writesInfo(log);
  // The metrics ride in the line of sluice's own Logger only: its `service` is "sluice", the
  // value of the metrics' `service` dimension (which the Logger would drop from the extra
  // keys, with a warning).
  const riding = written && log instanceof SluiceLogger;
  const metrics = processMetrics();
  let emf: Record<string, unknown> = {};
  if (riding && !metrics.off && metrics.plain) {
    const { service: _, ...rest } = callMetrics(access);
    emf = rest;
  } else {
    withMetrics((metrics) => {
      addCallMetrics(metrics, access);
      if (!riding || metrics.off) metrics.publishStoredMetrics();
      else {
        const { service: _, ...rest }: Record<string, unknown> = metrics.serializeMetrics();
        emf = rest;
      }
    });
  }
  if (!written) return;
  const fields = {
    requestId: access.requestId,
    method: access.method,
    path: access.path,
    status: access.status,
    firstByteMs: round(access.firstByteMs),
    totalMs: round(access.totalMs),
    lambdaRequestId: access.lambdaRequestId,
    coldStart: access.coldStart,
    ...access.notes,
    ...emf,
  };
  infoLine(log, "access", fields);
}

/** An INFO line: written by sluice's Logger itself where it can (SluiceLogger.line), else by Powertools. */
export function infoLine(log: Logger, message: string, fields: Record<string, unknown>): void {
  if (log instanceof SluiceLogger) log.line(message, fields);
  else log.info(message, fields);
}

/** A call's dimensions and metrics: what both ways of writing them below are made from. */
function callMeasures(access: AccessRecord) {
  const model = access.notes.model || undefined;
  const metrics: [
    name: string,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit],
    value: number,
  ][] = [["Calls", MetricUnit.Count, 1]];
  if (access.firstByteMs !== undefined)
    metrics.push(["FirstByteLatency", MetricUnit.Milliseconds, round(access.firstByteMs) ?? 0]);
  metrics.push(["Duration", MetricUnit.Milliseconds, round(access.totalMs) ?? 0]);
  return {
    dimensions: { statusClass: `${Math.floor(access.status / 100)}xx`, ...(model && { model }) },
    metrics,
  };
}

/** A call's metrics, added to Powertools' Metrics. */
function addCallMetrics(metrics: Metrics, access: AccessRecord): void {
  const measures = callMeasures(access);
  for (const [name, value] of Object.entries(measures.dimensions))
    metrics.addDimension(name, value);
  for (const [name, unit, value] of measures.metrics) metrics.addMetric(name, unit, value);
}

/**
 * A call's metrics in the embedded metric format, as Powertools' `serializeMetrics()` makes
 * them from addCallMetrics (test/unit/access-line.test.ts holds the two to the same object),
 * without its stores: for the access line they ride in.
 */
export function callMetrics(access: AccessRecord): Record<string, unknown> {
  const { dimensions, metrics } = callMeasures(access);
  return {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [["service", ...Object.keys(dimensions)]],
          Metrics: metrics.map(([Name, Unit]) => ({ Name, Unit })),
        },
      ],
    },
    service: "sluice",
    ...dimensions,
    ...Object.fromEntries(metrics.map(([name, , value]) => [name, value])),
  };
}

/** Counts one event (holds refused, settlements failed, holds reaped, channel changes…). */
export function countEvent(name: string, count = 1, dimensions: Record<string, string> = {}): void {
  if (count <= 0) return;
  withMetrics((metrics) => {
    for (const [key, value] of Object.entries(dimensions)) metrics.addDimension(key, value);
    metrics.addMetric(name, MetricUnit.Count, count);
    metrics.publishStoredMetrics();
  });
}

/**
 * Uses the process's Metrics and leaves it empty, whatever happens: what one use added never
 * reaches another's line.
 */
function withMetrics(use: (metrics: SluiceMetrics) => void): void {
  const metrics = processMetrics();
  try {
    use(metrics);
  } finally {
    metrics.clearMetrics();
    metrics.clearDimensions();
  }
}

/** Powertools' Metrics, saying whether it is switched off (a protected question there). */
class SluiceMetrics extends Metrics {
  /**
   * Whether its output is only what callMetrics() makes: sluice's namespace and service, no
   * namespace or service from the environment, no default dimensions or metadata beyond those
   * (sluice sets none).
   */
  readonly plain =
    process.env.POWERTOOLS_METRICS_NAMESPACE === undefined &&
    process.env.POWERTOOLS_SERVICE_NAME === undefined;

  get off(): boolean {
    return this.isDisabled();
  }
}

let shared: { metrics: SluiceMetrics; config: string } | undefined;

/**
 * The process's Metrics. Every use adds, writes and clears in one synchronous step, so calls
 * served at once (managed instances) never publish each other's; making one per call cost
 * more CPU than the rest of the access line (a Console and the environment read each time).
 * Powertools reads its switches from the environment when a Metrics is made, so a changed
 * environment (a test turning metrics on) gets a new one.
 */
function processMetrics(): SluiceMetrics {
  const env = process.env;
  const config = `${env.POWERTOOLS_METRICS_DISABLED}|${env.POWERTOOLS_DEV}|${env.POWERTOOLS_METRICS_NAMESPACE}|${env.POWERTOOLS_SERVICE_NAME}`;
  if (shared?.config !== config) {
    shared = {
      metrics: new SluiceMetrics({ namespace: METRICS_NAMESPACE, serviceName: "sluice" }),
      config,
    };
  }
  return shared.metrics;
}

/** Whether an INFO line from `log` is written: at its own level, and at sluice's stricter one. */
function writesInfo(log: Logger): boolean {
  const least = Math.max(
    LogLevelThreshold[log.getLevelName()],
    log instanceof SluiceLogger ? log.least : 0,
  );
  return LogLevelThreshold.INFO >= least;
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 10) / 10;
}
