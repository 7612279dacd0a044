/** The benchmark's upstream, in a process of its own: the demo upstream answering in 20 ms. */
import { startDemoUpstream } from "../../infra/local/demo-upstream";
import { serveMeasurements } from "./ipc";

const upstream = await startDemoUpstream({
  latencyMs: Number(process.env.UPSTREAM_LATENCY_MS ?? 20),
  models: ["gpt-4o-mini"],
});
serveMeasurements({ url: upstream.baseUrl });
