/**
 * A Lambda execution environment for the API function's bundle, as the share bench runs it:
 * started in a cgroup at a memory size's CPU share with the runtime's node flags, it imports the
 * function's entry (BENCH_API_BUNDLE, which imports the bundle) as the Node.js runtime does,
 * timing the import, and serves its
 * streaming handler behind the local function URL server, as a function URL invokes it. An
 * invocation ends when the handler's promise settles: after the response, once the
 * settlement and the log line are written.
 */
import { installAwsLambdaGlobal } from "../../infra/local/awslambda";
import { startFunctionUrlServer } from "../../infra/local/function-url-server";
import { serveMeasurements } from "../perf/ipc";
import { gcReports, invocationEnded, invocationReports } from "./invocations";

installAwsLambdaGlobal();
// BENCH_CPU_PROFILE=<dir>: V8 CPU profiles written there (node's --cpu-prof is not allowed in
// NODE_OPTIONS): the cold start (the import and the first invocation), and the phases the bench
// names (`profile`: warm, load).
const profiling = process.env.BENCH_CPU_PROFILE ? await startProfile("cold") : undefined;
const started = performance.now();
const bundle = await import(process.env.BENCH_API_BUNDLE as string);
const importMs = performance.now() - started;

const handler = bundle.handler as Parameters<typeof awslambda.streamifyResponse>[0];
const timed = awslambda.streamifyResponse(async (event, responseStream, context) => {
  let failure = true;
  try {
    const result = await handler(event, responseStream, context);
    failure = false;
    return result;
  } finally {
    invocationEnded(failure);
    await profiling?.stop();
  }
});
const server = await startFunctionUrlServer({ handler: timed, functionName: "sluice-api" });
const profiles = new Map<string, Awaited<ReturnType<typeof startProfile>>>();
serveMeasurements(
  { url: `${server.url}/v1`, importMs },
  {
    ...invocationReports,
    ...gcReports,
    /** A profile of a phase the bench names (warm, load), when BENCH_CPU_PROFILE is set. */
    async profile(phase: string, on: boolean) {
      if (!process.env.BENCH_CPU_PROFILE) return false;
      if (on) profiles.set(phase, await startProfile(phase));
      else await profiles.get(phase)?.stop();
      return on;
    },
  },
);

async function startProfile(phase: string) {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  // BENCH_HEAP_PROFILE=1: where the bytes are allocated (a sampling heap profile) instead.
  const heap = process.env.BENCH_HEAP_PROFILE === "1";
  if (heap) {
    await session.post("HeapProfiler.enable");
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  } else {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    await session.post("Profiler.start");
  }
  let done = false;
  return {
    async stop() {
      if (done) return;
      done = true;
      const { profile } = heap
        ? await session.post("HeapProfiler.stopSampling")
        : await session.post("Profiler.stop");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(
        `${process.env.BENCH_CPU_PROFILE}/${phase}-${process.pid}-${Date.now()}.${heap ? "heapprofile" : "cpuprofile"}`,
        JSON.stringify(profile),
      );
      session.disconnect();
    },
  };
}
