import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context, ScheduledEvent } from "aws-lambda";
import { localContext } from "./lambda-context";
import { standInLogger } from "./logs";

type ScheduledHandler = (
  event: ScheduledEvent,
  context: Context,
  options: { signal: AbortSignal },
) => Promise<unknown>;

/**
 * What the EventBridge schedule does on AWS: invokes the janitor every `intervalMs`, one
 * sweep at a time, with a scheduled event.
 */
export function startJanitorTimer(
  handler: ScheduledHandler,
  intervalMs: number,
  log: Logger = standInLogger("janitor-timer", "sluice-janitor"),
): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() =>
      handler(scheduledEvent(), localContext("sluice-janitor"), {
        signal: new AbortController().signal,
      }).catch((err) => log.error("sweep failed", err as Error)),
    );
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

function scheduledEvent(): ScheduledEvent {
  return {
    version: "0",
    id: crypto.randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "000000000000",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: ["arn:aws:events:us-east-1:000000000000:rule/sluice-janitor"],
    detail: {},
  };
}
