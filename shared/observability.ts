import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/**
 * sluice's logs and metrics, through Powertools for AWS Lambda: JSON log lines (level from
 * SLUICE_LOG_LEVEL, INFO by default) and CloudWatch metrics in the embedded metric format,
 * which CloudWatch takes from the log lines themselves (no API call). The local stack prints
 * the same lines.
 */
export const logger = new Logger({
  serviceName: "sluice",
  logLevel: (process.env.SLUICE_LOG_LEVEL ?? "INFO").toUpperCase() as "INFO",
});

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

/** The share of successful calls whose access line is written (all failures are). */
const successSample = Math.min(1, Math.max(0, Number(process.env.SLUICE_ACCESS_LOG_SAMPLE ?? 1)));

/**
 * One access line per call, and its metrics: calls by status class and model, time to the
 * first byte and in all. A Metrics object of its own per call, so calls served at once by one
 * process (managed instances) never publish each other's.
 */
export function recordAccess(access: AccessRecord): void {
  const { notes } = access;
  if (access.status >= 400 || Math.random() < successSample) {
    logger.info("access", {
      requestId: access.requestId,
      method: access.method,
      path: access.path,
      status: access.status,
      firstByteMs: round(access.firstByteMs),
      totalMs: round(access.totalMs),
      lambdaRequestId: access.lambdaRequestId,
      coldStart: access.coldStart,
      ...notes,
    });
  }
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "sluice" });
  metrics.addDimension("status", `${Math.floor(access.status / 100)}xx`);
  if (notes.model) metrics.addDimension("model", notes.model);
  metrics.addMetric("Calls", MetricUnit.Count, 1);
  if (access.firstByteMs !== undefined) {
    metrics.addMetric("FirstByteLatency", MetricUnit.Milliseconds, round(access.firstByteMs) ?? 0);
  }
  metrics.addMetric("Duration", MetricUnit.Milliseconds, round(access.totalMs) ?? 0);
  metrics.publishStoredMetrics();
}

/** Counts one event (holds refused, settlements failed, holds reaped, channel changes…). */
export function countEvent(name: string, count = 1, dimensions: Record<string, string> = {}): void {
  if (count <= 0) return;
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "sluice" });
  for (const [key, value] of Object.entries(dimensions)) metrics.addDimension(key, value);
  metrics.addMetric(name, MetricUnit.Count, count);
  metrics.publishStoredMetrics();
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 10) / 10;
}
