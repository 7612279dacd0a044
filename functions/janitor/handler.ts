import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { ScheduledEvent } from "aws-lambda";
import { runJanitor } from "../../shared/janitor/sweep";
import { countEvent } from "../../shared/observability";
import type { Services } from "../../shared/services";
import { functionServices } from "../adapters/services";

/** Runs on a schedule: expires batches past their window, deletes expired files, reaps holds. */
export function janitorHandler(services: Services) {
  const { log } = services;
  return middy<ScheduledEvent, void>()
    .use(injectLambdaContext(log, { resetKeys: true }))
    .handler(async () => {
      const report = await runJanitor(services, Math.floor(Date.now() / 1000));
      log.info("janitor sweep", { ...report });
      countEvent("HoldsReaped", report.holdsReleased);
    });
}

export const handler = janitorHandler(functionServices());
