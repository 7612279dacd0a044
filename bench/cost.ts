/**
 * `npm run bench:cost`: what one 3-second streamed chat call costs sluice on AWS, from what
 * drives the cost, measured here on the local stack:
 *
 *   - DynamoDB write and read units per call (ReturnConsumedCapacity, indexes included), on
 *     the request path and in the usage rollups;
 *   - peak memory (RSS) and CPU time of the API function's bundle in a process of its own,
 *     one stream at a time (an on-demand execution environment) and 64 at once (a managed
 *     instance's environment);
 *   - log bytes the API function writes per call;
 *   - what keeping one Responses API response adds (`store`, 30 days): its DynamoDB write
 *     units and S3 requests, and the reads of a GET of it (bench/cost/stored-responses.ts).
 *
 * Priced with bench/prices.ts for on-demand Lambda at each memory size, and for Lambda
 * Managed Instances at 10 and 100 requests/s. Results are printed and written to
 * bench/results/cost.json.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startLocalStack } from "../infra/local/stack";
import { API_FUNCTION, USAGE_ROLLUP } from "../shared/config/resources";
import { Table } from "../shared/store/table";
import { measureStoredResponses, type StoredResponseCost } from "./cost/stored-responses";
import { buildLambdaBundle } from "./perf/cold-start";
import { LAMBDA_MB_PER_VCPU, PRICES } from "./prices";

const STREAM_SECONDS = 3;
const CHUNKS = 30;
const SEQUENTIAL_CALLS = Number(process.env.BENCH_COST_CALLS ?? 5);
const CONCURRENT_STREAMS = 64;
const MEMORY_SIZES = [128, 256, 512, 1024];
/** Memory the Lambda runtime itself takes beside the function's process (estimate). */
const RUNTIME_OVERHEAD_MB = 15;
const SECONDS_PER_MONTH = 30 * 24 * 3600;

/** An upstream whose streamed answers last STREAM_SECONDS: the calls the cost is about. */
async function slowUpstream(): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer((req, res) => {
    if (req.url?.endsWith("/models")) {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ object: "list", data: [{ id: "gpt-4o-mini", object: "model" }] }));
      return;
    }
    req.resume();
    req.on("end", async () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({
          id: "chatcmpl-cost",
          object: "chat.completion.chunk",
          created: Math.floor(Date.now() / 1000),
          model: "gpt-4o-mini",
          choices: [{ index: 0, delta, finish_reason: null }],
          ...extra,
        })}\n\n`;
      for (let i = 0; i < CHUNKS; i++) {
        res.write(chunk({ content: `word${i} ` }));
        await new Promise((r) => setTimeout(r, (STREAM_SECONDS * 1000) / CHUNKS));
      }
      res.write(
        chunk({}, { usage: { prompt_tokens: 20, completion_tokens: CHUNKS, total_tokens: 50 } }),
      );
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

interface Report {
  peakRss: number;
  cpu: NodeJS.CpuUsage;
  capacity: Record<string, { read: number; write: number }>;
}

/** The API function's bundle in its own process; stdout and stderr bytes counted. */
async function apiProcess(env: NodeJS.ProcessEnv) {
  const outfile = resolve("bench/.build/cost-api.mjs");
  buildLambdaBundle("bench/cost/api-process.ts", outfile);
  const child: ChildProcess = fork(outfile, [], {
    execArgv: ["--expose-gc"],
    env,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let logBytes = 0;
  child.stdout?.on("data", (data: Buffer) => {
    logBytes += data.length;
  });
  child.stderr?.on("data", (data: Buffer) => {
    logBytes += data.length;
  });
  const ask = <T>(question: "reset" | "report", key: string) =>
    new Promise<T>((resolveAnswer) => {
      const listener = (message: Record<string, unknown>) => {
        if (key in message) {
          child.off("message", listener);
          resolveAnswer(message[key] as T);
        }
      };
      child.on("message", listener);
      child.send({ ask: question });
    });
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.once("exit", (code) => reject(new Error(`the API process exited with ${code}`)));
    child.on("message", (message: { ready?: { url: string } }) => {
      if (message.ready) resolveUrl(message.ready.url);
    });
  });
  return {
    url,
    child,
    logBytes: () => logBytes,
    reset: async () => {
      logBytes = 0;
      return ask<NodeJS.CpuUsage>("reset", "cpu");
    },
    report: () => ask<Report>("report", "report"),
  };
}

async function streamedCall(url: string, key: string): Promise<void> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "Say thirty words, slowly." }],
    }),
  });
  await response.text();
  if (response.status !== 200) throw new Error(`a call answered ${response.status}`);
}

/** Waits until the API process's DynamoDB work after the responses (settlement) is done. */
async function settled(api: Awaited<ReturnType<typeof apiProcess>>): Promise<Report> {
  let last = JSON.stringify((await api.report()).capacity);
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const report = await api.report();
    const now = JSON.stringify(report.capacity);
    if (now === last) return report;
    last = now;
  }
}

interface Phase {
  calls: number;
  peakRssMb: number;
  cpuMsPerCall: number;
  writeUnitsPerCall: number;
  readUnitsPerCall: number;
  logBytesPerCall: number;
}

async function phase(
  api: Awaited<ReturnType<typeof apiProcess>>,
  key: string,
  calls: number,
  concurrency: number,
): Promise<Phase> {
  const cpuBefore = await api.reset();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < calls) await streamedCall(api.url, key);
    }),
  );
  const report = await settled(api);
  const spent = Object.values(report.capacity).reduce(
    (sum, units) => ({ read: sum.read + units.read, write: sum.write + units.write }),
    { read: 0, write: 0 },
  );
  const cpuMs = (report.cpu.user - cpuBefore.user + report.cpu.system - cpuBefore.system) / 1000;
  return {
    calls,
    peakRssMb: report.peakRss / 2 ** 20,
    cpuMsPerCall: cpuMs / calls,
    writeUnitsPerCall: spent.write / calls,
    readUnitsPerCall: spent.read / calls,
    logBytesPerCall: api.logBytes() / calls,
  };
}

/** $ per call that does not depend on where the API runs: DynamoDB, logs, the requests. */
function sharedCostPerCall(m: {
  writeUnits: number;
  readUnits: number;
  logBytes: number;
  storedBytes: number;
  retentionDays: number;
}): number {
  const gb = 1e9;
  return (
    PRICES.lambdaRequest +
    m.writeUnits * PRICES.dynamoWriteUnit +
    m.readUnits * PRICES.dynamoReadUnit +
    (m.logBytes / gb) * (PRICES.logsIngestGb + PRICES.logsStorageGbMonth) +
    (m.storedBytes / gb) * PRICES.dynamoStorageGbMonth * (m.retentionDays / 30)
  );
}

/** How long a stored response is kept: SLUICE_RESPONSE_RETENTION_DAYS's default, OpenAI's. */
const STORED_DAYS = 30;
/** A stored response's item besides any content in it: its keys, owner, channel, models, times. */
const RECORD_BYTES = 400;

/** $ per million stored responses: the writes, and keeping them STORED_DAYS. */
function storedResponsePrice(cost: StoredResponseCost): { perMillion: number } {
  const inS3 = cost.s3Puts > 0;
  const itemBytes = RECORD_BYTES + (inS3 ? 0 : cost.contentBytes);
  const months = STORED_DAYS / 30;
  const perResponse =
    cost.writeUnits * PRICES.dynamoWriteUnit +
    cost.s3Puts * PRICES.s3PutRequest +
    (itemBytes / 1e9) * PRICES.dynamoStorageGbMonth * months +
    (inS3 ? (cost.contentBytes / 1e9) * PRICES.s3StorageGbMonth * months : 0);
  return { perMillion: perResponse * 1e6 };
}

async function main() {
  const upstream = await slowUpstream();
  const stack = await startLocalStack({
    port: 0,
    stateFile: join(mkdtempSync(join(tmpdir(), "sluice-cost-")), "local.json"),
    upstream: { baseUrl: upstream.baseUrl, models: ["gpt-4o-mini"] },
    janitorIntervalMs: 24 * 3_600_000,
    // The rollups gather lines as on AWS, so a busy minute's lines are added up together.
    rollupBatchingWindowMs: USAGE_ROLLUP.maxBatchingWindowSeconds * 1000,
  });
  // 64 streams at once on one key: above the default 50 calls in flight per user.
  const api = await apiProcess({ SLUICE_USER_CONCURRENCY: "0", ...process.env });
  try {
    for (let i = 0; i < 3; i++) await streamedCall(api.url, stack.demoKey);
    await stack.rollups.drain();

    // What the process spends doing nothing for as long (timers, the runtime): not the calls'.
    const idleBefore = await api.reset();
    await new Promise((r) => setTimeout(r, STREAM_SECONDS * 1000));
    const idleAfter = (await api.report()).cpu;
    const idleMs = (idleAfter.user - idleBefore.user + idleAfter.system - idleBefore.system) / 1000;

    console.log(
      `Measuring ${SEQUENTIAL_CALLS} streamed calls of ${STREAM_SECONDS} s, one at a time…`,
    );
    const alone = await phase(api, stack.demoKey, SEQUENTIAL_CALLS, 1);
    alone.cpuMsPerCall = Math.max(0, alone.cpuMsPerCall - idleMs);
    console.log(
      `Measuring ${CONCURRENT_STREAMS * 2} streamed calls, ${CONCURRENT_STREAMS} at once…`,
    );
    await stack.rollups.drain();
    Table.measure = true;
    const together = await phase(api, stack.demoKey, CONCURRENT_STREAMS * 2, CONCURRENT_STREAMS);
    await stack.rollups.drain();
    const rollupWritesPerCall = (Table.capacity.rollups?.write ?? 0) / together.calls;
    Table.measure = false;

    const shared = sharedCostPerCall({
      writeUnits: alone.writeUnitsPerCall + rollupWritesPerCall,
      readUnits: alone.readUnitsPerCall,
      logBytes: alone.logBytesPerCall,
      // A usage log line (about 300 bytes with its key) kept for the log's retention.
      storedBytes: 300,
      retentionDays: 90,
    });

    const rows = MEMORY_SIZES.map((memoryMb) => {
      const duration = (memoryMb / 1024) * STREAM_SECONDS * PRICES.lambdaArmGbSecond;
      const fits = alone.peakRssMb + RUNTIME_OVERHEAD_MB < memoryMb * 0.9;
      // CPU time stretched by the share of a vCPU this size gets.
      const cpuMs = alone.cpuMsPerCall * Math.max(1, LAMBDA_MB_PER_VCPU / memoryMb);
      return { memoryMb, perMillion: (duration + shared) * 1e6, fits, cpuMs };
    });
    const chosen = rows.find((row) => row.memoryMb === API_FUNCTION.memoryMiB);

    const managed = [10, 100].map((rps) => {
      const streams = rps * STREAM_SECONDS;
      const vcpus = (rps * together.cpuMsPerCall) / 1000 / 0.6; // at 60% utilisation
      const memoryGiB = ((together.peakRssMb / CONCURRENT_STREAMS) * streams) / 1024 + 0.5;
      const perInstance = PRICES.managedInstance;
      // Lambda keeps at least 3 execution environments (one per AZ); 2 GiB and 1 vCPU each.
      const environments = Math.max(3, Math.ceil(vcpus), Math.ceil(memoryGiB / 2));
      const instances = Math.ceil(environments / perInstance.vcpus);
      const monthly = instances * perInstance.hourly * 730 * (1 + PRICES.managedInstancesFee);
      const callsPerMonth = rps * SECONDS_PER_MONTH;
      return { rps, instances, perMillion: (monthly / callsPerMonth) * 1e6 + shared * 1e6 };
    });

    const stored = (await measureStoredResponses(stack.services)).map((cost) => ({
      ...cost,
      ...storedResponsePrice(cost),
    }));

    const result = {
      alone,
      together,
      rollupWritesPerCall,
      sharedPerMillion: shared * 1e6,
      rows,
      managed,
      storedResponses: stored,
    };
    mkdirSync("bench/results", { recursive: true });
    writeFileSync("bench/results/cost.json", `${JSON.stringify(result, null, 2)}\n`);

    const f = (n: number, digits = 2) => n.toFixed(digits);
    console.log(`
What drives the cost, per ${STREAM_SECONDS}-second streamed call (measured):
  DynamoDB write units   ${f(alone.writeUnitsPerCall)} on the request path + ${f(rollupWritesPerCall)} in the rollups (${CONCURRENT_STREAMS} calls at once)
  DynamoDB read units    ${f(alone.readUnitsPerCall)}
  API log bytes          ${f(alone.logBytesPerCall, 0)}
  API CPU time           ${f(alone.cpuMsPerCall)} ms at a full core (one stream at a time, less ${f(idleMs)} ms idle), ${f(together.cpuMsPerCall)} ms with ${CONCURRENT_STREAMS} at once
  API peak RSS           ${f(alone.peakRssMb, 0)} MB one stream at a time, ${f(together.peakRssMb, 0)} MB with ${CONCURRENT_STREAMS} at once
  Everything but compute $${f(shared * 1e6)} per million (requests, DynamoDB, logs, 90 days of log lines)

On-demand Lambda (Arm), by API memory:
  memory   $ per million   fits (RSS + ${RUNTIME_OVERHEAD_MB} MB runtime < 90%)   CPU per call at its vCPU share
${rows.map((row) => `  ${String(row.memoryMb).padStart(4)} MB  ${f(row.perMillion).padStart(13)}   ${(row.fits ? "yes" : "NO").padEnd(37)} ${f(row.cpuMs)} ms`).join("\n")}

Lambda Managed Instances (${PRICES.managedInstance.type}, +${PRICES.managedInstancesFee * 100}% fee), steady load:
${managed.map((m) => `  ${String(m.rps).padStart(3)} requests/s: ${m.instances} instance(s), $${f(m.perMillion)} per million`).join("\n")}

A stored Responses API response (store: true, kept ${STORED_DAYS} days), on top of its call (measured):
  kind                        content   write units  S3 PUTs   GET: read units, S3 GETs   $ per million (write + ${STORED_DAYS} days kept)
${stored.map((s) => `  ${s.kind.padEnd(26)} ${String(s.contentBytes).padStart(7)} B ${f(s.writeUnits).padStart(12)} ${String(s.s3Puts).padStart(8)}   ${f(s.readUnits).padStart(10)}, ${s.s3Gets}${" ".repeat(15)} $${f(s.perMillion)}`).join("\n")}
`);
    if (chosen)
      console.log(
        `on-demand: $${f(chosen.perMillion)} per million (API memory ${chosen.memoryMb} MB)`,
      );
    for (const m of managed)
      console.log(`managed instances at ${m.rps} requests/s: $${f(m.perMillion)} per million`);
  } finally {
    api.child.kill();
    await stack.stop();
    upstream.server.close();
  }
}

await main();
