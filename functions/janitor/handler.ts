import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { ScheduledEvent } from "aws-lambda";
import { runJanitor } from "../../shared/janitor/sweep";
import { countEvent, logger } from "../../shared/observability";
import { functionServices } from "../adapters/services";

const services = functionServices();

/** Runs on a schedule: expires batches past their window, deletes expired files, reaps holds. */
export const handler = middy<ScheduledEvent, void>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const report = await runJanitor(services, Math.floor(Date.now() / 1000));
    logger.info("janitor sweep", { ...report });
    countEvent("HoldsReaped", report.holdsReleased);
  });
