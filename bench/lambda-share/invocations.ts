/**
 * A process under the share bench tells it when each invocation has ended: the bench sends the
 * next call only then (on-demand Lambda gives an environment one invocation at a time), and
 * learns how long the invocation lasted, after-response work included. Off under load (the
 * bench turns it off), where the messages would cost CPU.
 */
let reporting = process.env.BENCH_REPORT_INVOCATIONS === "1";

export function invocationEnded(): void {
  if (reporting) process.send?.({ invocationEnded: performance.timeOrigin + performance.now() });
}

/** The question that turns the reports on or off, for serveMeasurements. */
export const invocationReports = {
  async reportInvocations(on: boolean) {
    reporting = on;
    return on;
  },
};
