/**
 * The latency client, in a process of its own: requests one after another over keep-alive
 * connections, each timed to its first body byte and to its end (timed-request.ts). The
 * targets take turns, request by request, so that all of them meet the same machine
 * conditions. Prints the samples as JSON.
 */
import { Agent } from "node:http";
import { type Target, timedRequest } from "./timed-request";

const targets = JSON.parse(process.env.TARGETS as string) as Target[];
const stream = process.env.STREAM === "true";
const count = Number(process.env.COUNT ?? 300);
const warmup = Number(process.env.WARMUP ?? 50);
const agents = new Map(targets.map((t) => [t.name, new Agent({ keepAlive: true, maxSockets: 1 })]));
const once = (target: Target) => timedRequest(target, stream, agents.get(target.name) as Agent);

for (let i = 0; i < warmup; i++) for (const target of targets) await once(target);
const samples = Object.fromEntries(
  targets.map((t) => [t.name, { ttfb: [] as number[], total: [] as number[], errors: 0 }]),
);
for (let i = 0; i < count; i++) {
  for (const target of targets) {
    const sample = await once(target);
    const into = samples[target.name] as { ttfb: number[]; total: number[]; errors: number };
    into.ttfb.push(sample.ttfb);
    into.total.push(sample.total);
    if (!sample.ok) into.errors++;
  }
}
process.stdout.write(JSON.stringify(samples));
for (const agent of agents.values()) agent.destroy();
