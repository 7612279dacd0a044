import type { StepHandler } from "../queue/worker";
import type { Services } from "../services";
import { runChunk } from "./chunk";
import { finalizeBatch } from "./finalize";
import { planBatch } from "./plan";

/** The batch pipeline's steps, by message type: plan → chunk × N → finalize. */
export function batchSteps(services: Services): Record<string, StepHandler> {
  return {
    "batch.plan": (message) => planBatch(services, String(message.batchId)),
    "batch.chunk": (message, context) =>
      runChunk(services, String(message.batchId), Number(message.chunk), context),
    "batch.finalize": (message) => finalizeBatch(services, String(message.batchId)),
  };
}
