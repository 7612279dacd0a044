/**
 * `npm run bench:batch`: a 10,000-line chat batch on the local stack, against the demo
 * upstream answering in a fixed 20 ms, beside the same lines sent one by one through the
 * API at the same parallelism as the batch worker — both in this run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import OpenAI, { toFile } from "openai";
import { startLocalStack } from "../infra/local/stack";
import { BATCH_WORKER } from "../shared/config/resources";
import { loadSettings } from "../shared/config/settings";

const LINES = Number(process.env.BENCH_BATCH_LINES ?? 10_000);
const UPSTREAM_LATENCY_MS = 20;

async function main(): Promise<void> {
  const stack = await startLocalStack({
    port: 0,
    // DynamoDB Local's steady throughput is measured: its JIT as a long-lived JVM's.
    dynamoJit: "full",
    demoUpstreamLatencyMs: UPSTREAM_LATENCY_MS,
    janitorIntervalMs: 60_000,
  });
  try {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.demoKey, maxRetries: 0 });
    const body = (i: number) => ({
      model: "gpt-4o-mini",
      max_tokens: 16,
      messages: [{ role: "user" as const, content: `line ${i}` }],
    });
    const jsonl = Array.from({ length: LINES }, (_, i) =>
      JSON.stringify({
        custom_id: `line-${i}`,
        method: "POST",
        url: "/v1/chat/completions",
        body: body(i),
      }),
    ).join("\n");

    // The batch: upload, create, poll to completed.
    const started = performance.now();
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl), "bench.jsonl"),
      purpose: "batch",
    });
    let batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    while (batch.status !== "completed" && batch.status !== "failed") {
      await new Promise((resolve) => setTimeout(resolve, 250));
      batch = await client.batches.retrieve(batch.id);
    }
    const batchSeconds = (performance.now() - started) / 1000;
    if (batch.status !== "completed" || batch.request_counts?.completed !== LINES) {
      throw new Error(
        `the batch ended ${batch.status} with ${JSON.stringify(batch.request_counts)}`,
      );
    }

    // The same lines through the API, as many at a time as the batch worker runs.
    const settings = loadSettings();
    const parallel = BATCH_WORKER.maxConcurrency * settings.batches.lineConcurrency;
    const apiStarted = performance.now();
    let next = 0;
    let errors = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < LINES) {
          const i = next++;
          await client.chat.completions.create(body(i)).catch(() => errors++);
        }
      }),
    );
    const apiSeconds = (performance.now() - apiStarted) / 1000;

    const result = {
      date: new Date().toISOString(),
      node: process.version,
      lines: LINES,
      upstreamLatencyMs: UPSTREAM_LATENCY_MS,
      parallelism: parallel,
      batch: { secondsToCompleted: batchSeconds, linesPerSecond: LINES / batchSeconds },
      api: { seconds: apiSeconds, linesPerSecond: LINES / apiSeconds, errors },
      batchOverApi: LINES / batchSeconds / (LINES / apiSeconds),
    };
    console.log(`
Batch API: ${LINES} chat lines, demo upstream answering in ${UPSTREAM_LATENCY_MS} ms, ${parallel} at a time

  batch (upload → completed)   ${batchSeconds.toFixed(1).padStart(7)} s   ${result.batch.linesPerSecond.toFixed(0).padStart(6)} lines/s
  same lines via the API       ${apiSeconds.toFixed(1).padStart(7)} s   ${result.api.linesPerSecond.toFixed(0).padStart(6)} lines/s   (${errors} errors)
  batch / API                  ${result.batchOverApi.toFixed(2)} ×
`);
    mkdirSync("bench/results", { recursive: true });
    const out = `bench/results/batch-${result.date.replace(/[:.]/g, "-")}.json`;
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`  written to ${out}`);
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
