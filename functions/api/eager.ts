import { setFlagsFromString } from "node:v8";

/**
 * The API function's entry as deployed (the stack's handler is `eager.handler`): it imports
 * the function's bundle (`index.mjs` beside it, built from handler.ts) with V8 compiling every
 * function of it at once, not each on its first call.
 *
 * Lazily, a cold instance's first call compiled some 360 functions of sluice's on its way
 * (the request, the hold, the relay, the settlement, the line): at 128 MB's share of a CPU
 * that was about a third of its time to the first byte. Compiled at init instead — which
 * Lambda runs faster than the memory's share — the first call's first byte came 0.40 → 0.23 s
 * and process start to it 0.64 → 0.51 s (`npm run bench -- --memory 128`, BENCH_INIT_AT=full;
 * README, Cost). The price: the init compiles the bundle's every function, used or not
 * (about 40 ms of CPU at a full core, and some 11 MB more resident memory until V8 flushes
 * the bytecode of what is never run).
 *
 * Only the bundle's own import is compiled so: what it loads later (a side bundle, the AWS
 * SDK for S3 or SQS) is compiled lazily as ever, as is the runtime's own code.
 */
const BUNDLE = "./index.mjs";

setFlagsFromString("--no-lazy");
let app: typeof import("./handler");
try {
  app = await import(BUNDLE);
} finally {
  setFlagsFromString("--lazy");
}

export const handler = app.handler;
