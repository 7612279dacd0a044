/**
 * How much memory one large request takes the API function to, at a memory size's node flags:
 * `npx tsx bench/perf/body-memory.ts [memory MB, default 128]`.
 *
 * The API function's bundle runs as the share bench runs it (lambda-share/shim.ts, Lambda's
 * node flags for the size, on the bench's Node or BENCH_NODE=lambda / <path>), against the
 * local stack and the demo upstream (which quotes the last user message back, so each body
 * below ends with a short one). For each shape of body, a fresh process serves one small call,
 * then the body twice, each once the last invocation has ended (as on-demand Lambda gives an
 * environment one call at a time), plain and then streamed; its peak resident memory (VmHWM)
 * after each is printed against the small call's, measured in the same process. A function URL
 * takes a request body of at most 6 MB; the plain bodies are 3.7–5.5 MB. The hostile ones are
 * made as heavy as sluice admits (shared/json-limits.ts) at their densest: each just under the
 * limit, and its status with one item more shows the limit holds. Lambda stops a process whose
 * memory passes the function's size.
 */
import { resolve } from "node:path";
import { MAX_REQUEST_BYTES } from "../../infra/local/function-url-server";
import { jsonWeight, maxJsonWeight, scanJson } from "../../shared/json-limits";
import { buildShareBundles } from "../lambda-share/bundles";
import { benchNode, invocationEnds, lambdaNodeFlags, peakResidentMb } from "../lambda-share/lambda";
import { type Child, startChild } from "./child";

const MEMORY_MB = Number(process.argv[2] ?? 128);
/** The size of each body, about: under a function URL's 6 MB. */
const BYTES = 5.5 * 1024 * 1024;

const ask = (messages: unknown[], more: Record<string, unknown> = {}) => ({
  model: "gpt-4o-mini",
  messages: [...messages, { role: "user", content: "hi" }],
  ...more,
});

/** A body of `count` of `item` in a passed-through field, as heavy as sluice admits at its size. */
function heaviest(item: (i: number) => unknown): () => unknown {
  // With its `stream` member already there: the streamed call weighs the same.
  const body = (count: number) =>
    ask([], { stream: false, x: Array.from({ length: count }, (_, i) => item(i)) });
  const fits = (count: number) => {
    const text = JSON.stringify(body(count));
    const bytes = Buffer.byteLength(text);
    // A function URL takes no more (the local server answers 413 itself, as AWS does).
    if (bytes > MAX_REQUEST_BYTES) return false;
    return jsonWeight(scanJson(text)) <= maxJsonWeight(bytes, MEMORY_MB);
  };
  return () => {
    // The most values that fit, to the one: between a count that fits and one that does not.
    let [low, high] = [1, 2];
    while (fits(high)) [low, high] = [high, high * 2];
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (fits(middle)) low = middle;
      else high = middle;
    }
    return body(low);
  };
}
const id = (i: number) => i.toString(36);

/** Bodies a client may send, and bodies only an attacker would. */
const SHAPES: Record<string, () => unknown> = {
  "a long text": () => ask([{ role: "user", content: "word ".repeat(BYTES / 5) }]),
  "one long word": () => ask([{ role: "user", content: "a".repeat(BYTES) }]),
  "an image (base64)": () =>
    ask([
      {
        role: "user",
        content: [
          {
            type: "image_url",
            image_url: { url: `data:image/png;base64,${"iVBORw0KGgo".repeat(BYTES / 11)}` },
          },
        ],
      },
    ]),
  "many tools": () =>
    ask([], {
      tools: Array.from({ length: BYTES / 200 }, (_, i) => ({
        type: "function",
        function: {
          name: `f${i}`,
          description: "d",
          parameters: { type: "object", properties: { a: { type: "string" } } },
        },
      })),
    }),
  "many messages": () =>
    ask(Array.from({ length: BYTES / 40 }, () => ({ role: "user", content: "hi" }))),
  "many numbers": () => ask([], { x: Array.from({ length: BYTES / 2 }, () => 1) }),
  "heaviest: numbers": heaviest(() => 1),
  "heaviest: strings": heaviest((i) => id(i)),
  "heaviest: {}": heaviest(() => ({})),
  "heaviest: [{key}]": heaviest((i) => [{ [id(i)]: 1 }]),
  "heaviest: 8 own keys": heaviest((i) =>
    Object.fromEntries([0, 1, 2, 3, 4, 5, 6, 7].map((j) => [`${id(i)}${j}`, 1])),
  ),
};

/** A heaviest body with one more item in its passed-through field: past the limit. */
const heavier = (body: { x?: unknown[] }) => ({ ...body, x: [...(body.x ?? []), body.x?.at(-1)] });

const peakMb = (child: Child) => peakResidentMb(child.process.pid as number);

const node = await benchNode();
const bundles = await buildShareBundles(resolve("bench/.build/lambda-share"));
const children: Child[] = [];
try {
  const upstream = await startChild("bench/perf/upstream.ts", {
    env: { ...process.env, UPSTREAM_LATENCY_MS: "20" },
  });
  children.push(upstream);
  const stack = await startChild("bench/perf/sluice.ts", {
    env: { ...process.env, UPSTREAM_URL: String(upstream.info.url) },
  });
  children.push(stack);
  const functionEnv = JSON.parse(String(stack.info.env)) as Record<string, string>;
  const call = async (api: Child, body: unknown) => {
    const response = await fetch(`${api.info.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.info.key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    return response.status;
  };
  /** A process of the API's bundle as a function of MEMORY_MB runs it, reporting its invocations' ends. */
  const startApi = async () => {
    const api = await startChild(bundles.shim, {
      env: {
        ...functionEnv,
        NODE_OPTIONS: "",
        AWS_LAMBDA_FUNCTION_NAME: "sluice-api",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(MEMORY_MB),
        AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
        BENCH_API_BUNDLE: bundles.api,
        BENCH_REPORT_INVOCATIONS: "1",
      },
      bundle: { nodeFlags: lambdaNodeFlags(MEMORY_MB), cgroupProcs: "/dev/null" },
    });
    children.push(api);
    return api;
  };
  console.log(
    `One request at ${MEMORY_MB} MB's node flags (${lambdaNodeFlags(MEMORY_MB).join(" ")}), node ${node}:`,
  );
  console.log(
    `  ${"body".padEnd(22)}${"MB".padStart(5)}   peak after a small call → the body, again (MB), plain / streamed; with one item more`,
  );
  for (const [shape, make] of Object.entries(SHAPES)) {
    const body = make() as { x?: unknown[] };
    const peaks: string[] = [];
    let small = 0;
    for (const stream of [false, true]) {
      const api = await startApi();
      const ended = invocationEnds(api);
      const send = async (body: unknown) => {
        const status = await call(api, body);
        await ended();
        return status;
      };
      await send(ask([]));
      small = Math.max(small, peakMb(api));
      const runs: string[] = [];
      for (let time = 0; time < 2; time++) {
        const status = await send({ ...body, stream });
        runs.push(`${peakMb(api).toFixed(0)}${status === 200 ? "" : ` (${status})`}`);
      }
      peaks.push(runs.join(", "));
      api.process.kill("SIGKILL");
    }
    const bytes = JSON.stringify(body).length / 1024 / 1024;
    const heavy = shape.startsWith("heaviest") ? heavier(body) : undefined;
    const over = !heavy
      ? ""
      : JSON.stringify(heavy).length > MAX_REQUEST_BYTES
        ? "; over 6 MB"
        : `; ${await refusedStatus(heavy)}`;
    console.log(
      `  ${shape.padEnd(22)}${bytes.toFixed(1).padStart(5)}   ${small.toFixed(0)} → ${peaks.join(" / ")}${over}`,
    );
  }

  /** The status of a body past the limit, in a fresh process. */
  async function refusedStatus(body: unknown): Promise<number> {
    const api = await startApi();
    const status = await call(api, body);
    api.process.kill("SIGKILL");
    return status;
  }
} finally {
  for (const child of children) child.process.kill("SIGKILL");
}
