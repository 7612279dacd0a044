import middy from "@middy/core";
import type { Context, LambdaFunctionURLEvent, StreamifyHandler } from "aws-lambda";
import { createApi } from "../../shared/api";
import { functionServices } from "../adapters/services";
import {
  AfterResponseTasks,
  type StreamingResult,
  toGatewayRequest,
  toStreamingResult,
} from "./function-url";

// Created once per Lambda instance: clients, caches and keep-alive connections are reused
// by every invocation it serves.
const api = createApi(functionServices());

/** Per invocation: its settlement and logs, and when the response body has closed. */
const afterBody = new WeakMap<Context, { tasks: AfterResponseTasks; bodyClosed: Promise<void> }>();

/**
 * middy pipes the core's response to the function URL (InvokeMode RESPONSE_STREAM). Its
 * types describe the unstreamed (event, context) signature; streamed, it takes the stream.
 */
const streamResponse = middy<LambdaFunctionURLEvent, StreamingResult>({
  streamifyResponse: true,
}).handler(async (event, context) => {
  const request = toGatewayRequest(event, performance.now());
  const tasks = new AfterResponseTasks(request.id);
  const response = await api(request, tasks);
  const { result, closed } = toStreamingResult(response);
  afterBody.set(context, { tasks, bodyClosed: closed });
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
        await invocation.tasks.run();
      }
    }
  },
);
