/**
 * The latency client, in a process of its own: requests one after another over keep-alive
 * connections, timing each to its first body byte and to its end with sub-millisecond
 * precision (autocannon counts whole milliseconds). The targets take turns, request by
 * request, so that all of them meet the same machine conditions. Prints the samples as JSON.
 */
import { Agent, request } from "node:http";

interface Target {
  name: string;
  url: string;
  key?: string;
}

const targets = JSON.parse(process.env.TARGETS as string) as Target[];
const stream = process.env.STREAM === "true";
const count = Number(process.env.COUNT ?? 300);
const warmup = Number(process.env.WARMUP ?? 50);
const body = JSON.stringify({
  model: "gpt-4o-mini",
  stream,
  max_tokens: 16,
  messages: [{ role: "user", content: "Hi" }],
});
const agents = new Map(targets.map((t) => [t.name, new Agent({ keepAlive: true, maxSockets: 1 })]));

function once(target: Target): Promise<{ ttfb: number; total: number; ok: boolean }> {
  const url = new URL(`${target.url}/chat/completions`);
  return new Promise((resolve) => {
    const start = performance.now();
    let ttfb = 0;
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent: agents.get(target.name),
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...(target.key ? { authorization: `Bearer ${target.key}` } : {}),
        },
      },
      (res) => {
        res.on("data", () => {
          if (ttfb === 0) ttfb = performance.now() - start;
        });
        res.on("end", () =>
          resolve({ ttfb, total: performance.now() - start, ok: res.statusCode === 200 }),
        );
      },
    );
    req.on("error", () => resolve({ ttfb: 0, total: performance.now() - start, ok: false }));
    req.end(body);
  });
}

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
