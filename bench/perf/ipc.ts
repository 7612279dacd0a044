/**
 * The benchmark's child processes tell the parent where they listen, and answer its
 * questions over the IPC channel: their CPU time, and any extra measurement they offer.
 */
type Measurements = Record<string, (...args: never[]) => Promise<unknown>>;

export function serveMeasurements(info: Record<string, unknown>, extra: Measurements = {}): void {
  process.on("message", async (message: { id: number; ask: string; args?: unknown[] }) => {
    let answer: unknown;
    if (message.ask === "cpu") answer = process.cpuUsage();
    else if (message.ask === "stop") process.exit(0);
    else
      answer = await (extra[message.ask] as (...args: unknown[]) => Promise<unknown>)(
        ...(message.args ?? []),
      );
    process.send?.({ id: message.id, answer });
  });
  process.send?.({ ready: info });
}
