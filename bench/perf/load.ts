/** Load at a fixed concurrency from autocannon, in a process of its own. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  /** Whole milliseconds, as autocannon counts them. */
  p50: number;
  p99: number;
  /** Connection errors, timeouts and answers other than 2xx. */
  errors: number;
  /** Answers by status. */
  statuses: Record<string, number>;
}

/** A chat completion for `seconds`, `concurrency` at once, to `url`/chat/completions. */
export async function autocannon(options: {
  url: string;
  key?: string;
  stream: boolean;
  concurrency: number;
  seconds: number;
}): Promise<LoadResult> {
  const body = JSON.stringify({
    model: "gpt-4o-mini",
    stream: options.stream,
    max_tokens: 16,
    messages: [{ role: "user", content: "Hi" }],
  });
  const { stdout } = await run(
    process.execPath,
    [
      "node_modules/autocannon/autocannon.js",
      "-c",
      String(options.concurrency),
      "-d",
      String(options.seconds),
      "-m",
      "POST",
      "-H",
      "content-type=application/json",
      ...(options.key ? ["-H", `authorization=Bearer ${options.key}`] : []),
      "-b",
      body,
      "-j",
      `${options.url}/chat/completions`,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const result = JSON.parse(stdout);
  return {
    requests: result.requests.total as number,
    requestsPerSecond: result.requests.average as number,
    p50: result.latency.p50 as number,
    p99: result.latency.p99 as number,
    errors: (result.errors as number) + (result.timeouts as number) + (result.non2xx as number),
    statuses: Object.fromEntries(
      Object.entries(result.statusCodeStats as Record<string, { count: number }>).map(
        ([status, { count }]) => [status, count],
      ),
    ),
  };
}
