/**
 * A process under the share bench tells it when each invocation has ended: the bench sends the
 * next call only then (on-demand Lambda gives an environment one invocation at a time), and
 * learns how long the invocation lasted, after-response work included. Off under load (the
 * bench turns it off), where the messages would cost CPU.
 */
import { constants, PerformanceObserver } from "node:perf_hooks";

let reporting = process.env.BENCH_REPORT_INVOCATIONS === "1";

/** Invocations whose handler failed, counted whether or not ends are reported. */
let failed = 0;

export function invocationEnded(failure: boolean): void {
  if (failure) failed++;
  if (reporting) process.send?.({ invocationEnded: performance.timeOrigin + performance.now() });
}

/** The questions that turn the reports on or off and count the failed invocations. */
export const invocationReports = {
  async reportInvocations(on: boolean) {
    reporting = on;
    return on;
  },
  /**
   * A handler that fails after its response was sent (a settlement refused, say) still gave
   * the client its answer: only this count tells the bench that the run did not do its work.
   */
  async failedInvocations() {
    return failed;
  },
};

/** Garbage collections so far, minor and major, with their pauses (BENCH_GC=1 only). */
const gc = { minor: { count: 0, ms: 0 }, major: { count: 0, ms: 0 } };
if (process.env.BENCH_GC === "1") {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind =
        (entry as { detail?: { kind?: number } }).detail?.kind ===
        constants.NODE_PERFORMANCE_GC_MAJOR
          ? "major"
          : "minor";
      gc[kind].count++;
      gc[kind].ms += entry.duration;
    }
  }).observe({ entryTypes: ["gc"] });
}

/** The questions that answer them, for serveMeasurements. */
export const gcReports = {
  async gc() {
    return { minor: { ...gc.minor }, major: { ...gc.major } };
  },
  /**
   * The heap in use after a full collection (the process runs with --expose-gc, as Lambda's
   * node flags here give it): what is still reachable. Asked before and after the warm calls,
   * it says what each call leaves behind.
   */
  async liveHeap() {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed;
  },
};
