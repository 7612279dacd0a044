import middy from "@middy/core";
import type { Context, LambdaFunctionURLEvent } from "aws-lambda";
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

/** Per invocation: its settlement and logs, to run once the body has gone out. */
const afterBody = new WeakMap<Context, AfterResponseTasks>();

/**
 * The function URL handler, streamed (InvokeMode RESPONSE_STREAM). middy pipes the body to
 * the client and then calls requestEnd, where the after-response tasks (settlement, logs)
 * run; the invocation ends only after them. If the client goes away mid-body, they start as
 * soon as the body stream closes.
 */
export const handler = middy<LambdaFunctionURLEvent, StreamingResult>({
  streamifyResponse: true,
  requestEnd: (request) => afterBody.get(request.context)?.run(),
}).handler(async (event, context) => {
  const request = toGatewayRequest(event, performance.now());
  const tasks = new AfterResponseTasks(request.id);
  afterBody.set(context, tasks);
  const response = await api(request, tasks);
  return toStreamingResult(response, () => void tasks.run());
});
