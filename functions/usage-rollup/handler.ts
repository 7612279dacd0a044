import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { loadSettings, type Settings } from "../../shared/config/settings";
import { type Mailer, mailerFrom } from "../../shared/mail/mailer";
import { createLogger } from "../../shared/observability";
import { Rollups, type StreamedLine } from "../../shared/store/rollups";
import { SiteLog } from "../../shared/store/site-log";
import { type Table, unmarshalItem } from "../../shared/store/table";
import type { UsageLogEntry } from "../../shared/store/usage";
import { functionTable } from "../adapters/services";
import { LowBalanceNotices } from "./low-balance";

/**
 * Consumes the usage log table's stream (filtered to new lines, see infra/constructs): adds
 * the lines of calls up into the daily rollups and the keys' counters, and writes every line
 * into the operator's site-wide log. A failure fails the whole batch, and the stream
 * delivers it again: both are idempotent (store/rollups.ts, store/site-log.ts).
 */
export function usageRollupHandler(
  table: Table,
  options: {
    log: Logger;
    logRetentionDays: number;
    settings?: Settings;
    mailer?: Mailer;
    /** How long a profile is trusted by the low-balance check (5 minutes by default). */
    profileTtlMs?: number;
  },
) {
  const { log } = options;
  const rollups = new Rollups(table, log);
  const siteLog = new SiteLog(table, options.logRetentionDays);
  // Stream e-mail: low-balance notices, for users who set a threshold.
  const mail = options.settings?.mail;
  const notices =
    mail &&
    new LowBalanceNotices(table, options.mailer ?? mailerFrom(mail), {
      publicOrigin: options.settings?.edge.publicOrigin,
      log,
      profileTtlMs: options.profileTtlMs,
    });
  return middy<DynamoDBStreamEvent, void>()
    .use(injectLambdaContext(log, { resetKeys: true }))
    .handler(async (event) => {
      const lines = streamedLines(event, log);
      await Promise.all([rollups.apply(lines), siteLog.add(lines), notices?.check(lines)]);
    });
}

/**
 * The usage log lines a stream event carries (inserts into a user's log partition). The
 * event filter lets only those through: any other record is left out, with a warning.
 */
export function streamedLines(event: DynamoDBStreamEvent, log: Logger): StreamedLine[] {
  const lines = event.Records.flatMap((record) => {
    const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
    const sequence = record.dynamodb?.SequenceNumber;
    if (record.eventName !== "INSERT" || !image || !sequence) return [];
    const item = unmarshalItem(image);
    if (typeof item.pk !== "string" || !item.pk.endsWith("#LOG")) return [];
    return [{ sequence, line: item as unknown as UsageLogEntry }];
  });
  const unusable = event.Records.length - lines.length;
  if (unusable > 0) {
    log.warn("stream records left out of the rollups: not new usage log lines", {
      unusable,
      records: event.Records.length,
    });
  }
  return lines;
}

const settings = loadSettings();
export const handler = usageRollupHandler(functionTable(process.env, "rollups"), {
  log: createLogger({ level: settings.log.level }),
  logRetentionDays: settings.logRetentionDays,
  settings,
});
