import middy from "@middy/core";
import type { Context, LambdaFunctionURLEvent, StreamifyHandler } from "aws-lambda";
import { createApi } from "../../shared/api";
import { functionServices } from "../adapters/services";
import {
  AfterResponseTasks,
  type StreamingResult,
  timeLimit,
  toGatewayRequest,
  toStreamingResult,
} from "./function-url";

// Created once per Lambda instance: clients, caches and keep-alive connections are reused
// by every invocation it serves.
const api = createApi(functionServices());

/** Per invocation: its settlement and logs, when the response body has closed, its time limit. */
const afterBody = new WeakMap<
  Context,
  { tasks: AfterResponseTasks; bodyClosed: Promise<void>; clearTimeLimit: () => void }
>();

/** Kept back from the function's timeout to end a response cleanly and settle it. */
const SETTLE_MS = 15_000;

/**
 * middy pipes the core's response to the function URL (InvokeMode RESPONSE_STREAM). Its
 * types describe the unstreamed (event, context) signature; streamed, it takes the stream.
 */
const streamResponse = middy<LambdaFunctionURLEvent, StreamingResult>({
  streamifyResponse: true,
}).handler(async (event, context) => {
  const receivedAt = performance.now();
  const limit = timeLimit(context.getRemainingTimeInMillis(), SETTLE_MS);
  const request = toGatewayRequest(event, receivedAt, limit.signal);
  const tasks = new AfterResponseTasks(request.id);
  const response = await api(request, tasks);
  const { result, closed } = toStreamingResult(response);
  afterBody.set(context, { tasks, bodyClosed: closed, clearTimeLimit: limit.clear });
  return result;
}) as unknown as StreamifyHandler<LambdaFunctionURLEvent>;

/**
 * The function URL handler. The after-response tasks (settlement, logs) run once the body
 * stream has closed — read to the end, or torn down because the client went away (then
 * middy's pipeline rejects and its own requestEnd hook never runs) — and the invocation
 * ends only after them, so Lambda cannot freeze it with a hold unsettled.
 */
export const handler: StreamifyHandler<LambdaFunctionURLEvent> = awslambda.streamifyResponse(
  async (event, responseStream, context) => {
    try {
      await streamResponse(event, responseStream, context);
    } finally {
      const invocation = afterBody.get(context);
      if (invocation) {
        await invocation.bodyClosed;
        invocation.clearTimeLimit();
        await invocation.tasks.run();
      }
    }
  },
);
