/**
 * Work that need not run before a call's answer — a cache refreshing behind the stale value it
 * still answers with — waits here. The API's handler runs it once the call's response is sent
 * and settled, still inside the invocation (functions/api/function-url.ts): at a small
 * function's share of a CPU, work started before the first byte delays it. What no handler
 * runs (the janitor, the batch worker) starts by itself after START_ALONE_MS.
 */
const START_ALONE_MS = 1_000;

const waiting: (() => Promise<unknown>)[] = [];
let alone: NodeJS.Timeout | undefined;

export function afterCall(work: () => Promise<unknown>): void {
  waiting.push(work);
  if (alone) return;
  alone = setTimeout(() => void runAfterCallWork(), START_ALONE_MS);
  alone.unref();
}

/** Starts what is waiting and waits for it; each piece of work handles its own failure. */
export async function runAfterCallWork(): Promise<void> {
  clearTimeout(alone);
  alone = undefined;
  await Promise.allSettled(waiting.splice(0).map((work) => work()));
}
