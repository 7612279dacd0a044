/**
 * The API function alone in a process of its own, as one Lambda execution environment runs
 * it: the bundle built as the CDK stack builds it, behind the local function URL server.
 * Bundled by bench/cost.ts with esbuild (no tsx in the process, so its memory is the
 * function's). It reports, when asked over IPC: peak RSS since the last reset, CPU time,
 * and the DynamoDB capacity units its calls consumed.
 */
import { installAwsLambdaGlobal } from "../../infra/local/awslambda";
import { startFunctionUrlServer } from "../../infra/local/function-url-server";
import { Table } from "../../shared/store/table";

installAwsLambdaGlobal();
// The handler reads its environment and the Lambda global when imported: only now.
const { handler } = await import("../../functions/api/handler");
Table.measure = true;
const server = await startFunctionUrlServer({ handler, functionName: "sluice-api", port: 0 });

let peakRss = process.memoryUsage.rss();
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50).unref();

process.on("message", (message: { ask: "reset" | "report" }) => {
  if (message.ask === "reset") {
    globalThis.gc?.();
    peakRss = process.memoryUsage.rss();
    for (const label of Object.keys(Table.capacity)) delete Table.capacity[label];
    process.send?.({ reset: true, cpu: process.cpuUsage() });
  } else {
    process.send?.({
      report: {
        peakRss: Math.max(peakRss, process.memoryUsage.rss()),
        cpu: process.cpuUsage(),
        capacity: Table.capacity,
      },
    });
  }
});
process.send?.({ ready: { url: server.url } });
