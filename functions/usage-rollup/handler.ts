import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { Rollups, type StreamedLine } from "../../shared/store/rollups";
import { unmarshalItem } from "../../shared/store/table";
import type { UsageLogEntry } from "../../shared/store/usage";
import { functionTable } from "../adapters/services";

const rollups = new Rollups(functionTable(process.env, "rollups"));

/**
 * Consumes the usage log table's stream (filtered to new lines of calls, see infra/constructs) and
 * adds the lines up into the daily rollups and the keys' counters. A failure fails the whole
 * batch, and the stream delivers it again: adding up is idempotent (store/rollups.ts).
 */
export async function handler(event: DynamoDBStreamEvent): Promise<void> {
  await rollups.apply(streamedLines(event));
}

/**
 * The usage log lines a stream event carries (inserts into a user's log partition). The
 * event filter lets only those through: any other record is left out, with a warning.
 */
export function streamedLines(event: DynamoDBStreamEvent): StreamedLine[] {
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
    console.warn(
      JSON.stringify({
        level: "warn",
        msg: "stream records left out of the rollups: not new usage log lines",
        unusable,
        records: event.Records.length,
      }),
    );
  }
  return lines;
}
