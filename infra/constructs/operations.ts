import { Duration } from "aws-cdk-lib";
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { FilterPattern, type ILogGroup, MetricFilter } from "aws-cdk-lib/aws-logs";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export interface OperationsProps {
  api: NodejsFunction;
  worker: NodejsFunction;
  janitor: NodejsFunction;
  rollup: NodejsFunction;
  deadLetterQueue: IQueue;
  tables: Table[];
  /** Where the alarms send email, if anywhere. */
  alarmEmail?: string;
}

/** The namespace of the metrics sluice's own log lines give (metric filters). */
export const METRIC_NAMESPACE = "Sluice";

/**
 * What an operator watches: alarms (each described in the README's Operations section) that
 * notify an SNS topic, metrics drawn from the functions' JSON log lines, and one dashboard.
 */
export class Operations extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.topic = new Topic(this, "Alarms", { displayName: "sluice alarms" });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const fiveMinutes = Duration.minutes(5);
    const lambda = (fn: NodejsFunction, metricName: string) =>
      new Metric({
        namespace: "AWS/Lambda",
        metricName,
        dimensionsMap: { FunctionName: fn.functionName },
        statistic: "Sum",
        period: fiveMinutes,
      });
    const requests = lambda(props.api, "UrlRequestCount");
    const serverErrors = lambda(props.api, "Url5xxCount");
    const errorRate = new MathExpression({
      expression: "100 * errors / MAX([requests, 1])",
      usingMetrics: { errors: serverErrors, requests },
      label: "API 5xx (% of requests)",
      period: fiveMinutes,
    });
    const settlementsFailed = this.logMetric(
      props.api.logGroup,
      "SettlementsFailed",
      FilterPattern.stringValue("$.message", "=", "after-response task failed"),
    );
    const holdsReaped = this.logMetric(
      props.janitor.logGroup,
      "HoldsReaped",
      FilterPattern.stringValue("$.message", "=", "janitor sweep"),
      "$.holdsReleased",
    );
    const reapsFailed = this.logMetric(
      props.janitor.logGroup,
      "ReapsFailed",
      FilterPattern.stringValue("$.message", "=", "reaping a hold failed"),
    );
    // Agenda work (orders, check-ins, expiries, batches) that failed: logged, and tried again
    // by the next sweep, so one failure is no news; one in each of two sweeps running is.
    const workFailed = this.logMetric(
      props.janitor.logGroup,
      "JanitorWorkFailed",
      FilterPattern.stringValue("$.message", "=", "agenda_work_failed"),
    );
    const dynamoThrottles = new MathExpression({
      expression: props.tables.map((_, i) => `r${i} + w${i}`).join(" + "),
      usingMetrics: Object.fromEntries(
        props.tables.flatMap((table, i) => [
          [`r${i}`, table.metric("ReadThrottleEvents", { statistic: "Sum", period: fiveMinutes })],
          [`w${i}`, table.metric("WriteThrottleEvents", { statistic: "Sum", period: fiveMinutes })],
        ]),
      ),
      label: "DynamoDB throttled requests",
      period: fiveMinutes,
    });
    const throttles = new MathExpression({
      expression: "api + worker + janitor + rollup",
      usingMetrics: {
        api: lambda(props.api, "Throttles"),
        worker: lambda(props.worker, "Throttles"),
        janitor: lambda(props.janitor, "Throttles"),
        rollup: lambda(props.rollup, "Throttles"),
      },
      label: "Lambda throttles",
      period: fiveMinutes,
    });
    const functionErrors = new MathExpression({
      expression: "worker + janitor + rollup",
      usingMetrics: {
        worker: lambda(props.worker, "Errors"),
        janitor: lambda(props.janitor, "Errors"),
        rollup: lambda(props.rollup, "Errors"),
      },
      label: "Errors of the worker, janitor and rollups",
      period: fiveMinutes,
    });
    const deadLetters = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: fiveMinutes,
      statistic: "Maximum",
    });

    this.alarm("ApiServerErrors", errorRate, 5, "More than 5% of API requests answered 5xx");
    this.alarm("Throttles", throttles, 1, "A sluice function was throttled");
    this.alarm("DeadLetters", deadLetters, 1, "Batch steps reached the dead-letter queue");
    this.alarm("SettlementsFailed", settlementsFailed, 1, "A call's settlement failed");
    this.alarm("HoldsReaped", holdsReaped, 1, "The janitor gave back holds of calls that died");
    this.alarm("ReapsFailed", reapsFailed, 1, "The janitor could not reap a hold");
    this.alarm(
      "JanitorWorkFailed",
      workFailed,
      1,
      "The janitor's agenda work failed in two sweeps running",
      2,
    );
    this.alarm("DynamoThrottles", dynamoThrottles, 1, "DynamoDB throttled sluice's requests");
    this.alarm("FunctionErrors", functionErrors, 1, "The batch worker, janitor or rollups failed");

    this.dashboard = new Dashboard(this, "Dashboard", {
      defaultInterval: Duration.hours(6),
      widgets: [
        [
          graph("API requests and 5xx", [requests, serverErrors]),
          graph("API duration (p50, p99)", [
            lambda(props.api, "Duration").with({ statistic: "p50" }),
            lambda(props.api, "Duration").with({ statistic: "p99" }),
          ]),
          graph("API concurrency", [
            lambda(props.api, "ConcurrentExecutions").with({ statistic: "Maximum" }),
          ]),
        ],
        [
          graph("Money: settlements failed, holds reaped", [settlementsFailed, holdsReaped]),
          graph("Throttles", [throttles, dynamoThrottles]),
          graph("Batches: dead letters, function errors; janitor work failed", [
            deadLetters,
            functionErrors,
            workFailed,
          ]),
        ],
        [new AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 24 })],
      ],
    });
  }

  private logMetric(
    logGroup: ILogGroup,
    metricName: string,
    pattern: ReturnType<typeof FilterPattern.stringValue>,
    value = "1",
  ): Metric {
    const filter = new MetricFilter(this, `${metricName}Filter`, {
      logGroup,
      metricNamespace: METRIC_NAMESPACE,
      metricName,
      filterPattern: pattern,
      metricValue: value,
      defaultValue: 0,
    });
    return filter.metric({ statistic: "Sum", period: Duration.minutes(5) });
  }

  /** Alarms once `metric` reaches `threshold` in each of `periods` periods running. */
  private alarm(
    id: string,
    metric: IMetric,
    threshold: number,
    description: string,
    periods = 1,
  ): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `${description}. See the README's Operations section.`,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}

function graph(title: string, metrics: IMetric[]): GraphWidget {
  return new GraphWidget({ title, left: metrics, width: 8 });
}
