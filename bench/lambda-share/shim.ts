/**
 * A Lambda execution environment for the API function's bundle, as the share bench runs it:
 * started in a cgroup at a memory size's CPU share with the runtime's node flags, it imports the
 * bundle (BENCH_API_BUNDLE) as the Node.js runtime does, timing the import, and serves its
 * streaming handler behind the local function URL server, as a function URL invokes it. An
 * invocation ends when the handler's promise settles: after the response, once the
 * settlement and the log line are written.
 */
import { installAwsLambdaGlobal } from "../../infra/local/awslambda";
import { startFunctionUrlServer } from "../../infra/local/function-url-server";
import { serveMeasurements } from "../perf/ipc";
import { invocationEnded, invocationReports } from "./invocations";

installAwsLambdaGlobal();
const started = performance.now();
const bundle = await import(process.env.BENCH_API_BUNDLE as string);
const importMs = performance.now() - started;

const handler = bundle.handler as Parameters<typeof awslambda.streamifyResponse>[0];
const timed = awslambda.streamifyResponse(async (event, responseStream, context) => {
  try {
    return await handler(event, responseStream, context);
  } finally {
    invocationEnded();
  }
});
const server = await startFunctionUrlServer({ handler: timed, functionName: "sluice-api" });
serveMeasurements({ url: `${server.url}/v1`, importMs }, invocationReports);
