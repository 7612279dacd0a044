import middy from "@middy/core";
import type { Context, LambdaFunctionURLEvent } from "aws-lambda";
import { createApi } from "../../shared/api";
import { createAwsServices } from "../../shared/store/aws";
import {
  AfterResponseTasks,
  type StreamingResult,
  toGatewayRequest,
  toStreamingResult,
} from "./function-url";

// Created once per Lambda instance: clients, caches and keep-alive connections are reused
// by every invocation it serves.
const api = createApi(createAwsServices());

/** Per invocation: settlement and logs, finished once the body has gone out. */
const afterBody = new WeakMap<Context, Promise<void>>();

/**
 * The function URL handler, streamed (InvokeMode RESPONSE_STREAM). middy pipes the body to
 * the client; the after-response tasks (settlement, logs) run when the body stream closes, and
 * the invocation ends only after them.
 */
export const handler = middy<LambdaFunctionURLEvent, StreamingResult>({
  streamifyResponse: true,
  requestEnd: (request) => afterBody.get(request.context),
}).handler(async (event, context) => {
  const request = toGatewayRequest(event, performance.now());
  const tasks = new AfterResponseTasks();
  const { result, whenDone } = toStreamingResult(await api(request, tasks));
  afterBody.set(
    context,
    whenDone.then(() => tasks.run(request.id)),
  );
  return result;
});
