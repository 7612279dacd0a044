import middy from "@middy/core";
import type { Context, LambdaFunctionURLEvent } from "aws-lambda";
import { createApi } from "../../shared/api";
import { RESOURCE_ENV } from "../../shared/config/resources";
import { createServices } from "../../shared/services";
import { createDynamoClient, requireEnv } from "../../shared/store/aws";
import { Table } from "../../shared/store/table";
import { type StreamingResult, toGatewayRequest, toStreamingResult } from "./function-url";

// Created once per Lambda instance: clients, caches and keep-alive connections are reused
// by every invocation it serves.
const api = createApi(
  createServices({ table: new Table(createDynamoClient(), requireEnv(RESOURCE_ENV.table)) }),
);

/** Work each invocation registered through waitUntil, awaited after the last byte. */
const pendingWork = new WeakMap<Context, Promise<unknown>[]>();

/**
 * The function URL handler, streamed (InvokeMode RESPONSE_STREAM). middy pipes the body to
 * the client; settlement and logs registered with waitUntil finish after that.
 */
export const handler = middy<LambdaFunctionURLEvent, StreamingResult>({
  streamifyResponse: true,
  requestEnd: async (request) => {
    await Promise.allSettled(pendingWork.get(request.context) ?? []);
  },
}).handler(async (event, context) => {
  const receivedAt = performance.now();
  const work: Promise<unknown>[] = [];
  pendingWork.set(context, work);
  const response = await api(toGatewayRequest(event, receivedAt), {
    waitUntil: (promise) => work.push(promise),
  });
  return toStreamingResult(response);
});
