/**
 * sluice under test, in a process of its own: the whole local stack (DynamoDB Local, fauxqs,
 * the real handler behind the local function URL) with a real key, a priced model, holds,
 * settlement and usage logs on, relaying to the benchmark's upstream.
 */
import { startLocalStack } from "../../infra/local/stack";
import { Table } from "../../shared/store/table";
import { serveMeasurements } from "./ipc";

/** DynamoDB calls made by the time the server wrote the current response's first byte. */
const marks = { firstByte: 0 };
const stack = await startLocalStack({
  port: 0,
  // The janitor's sweeps would count as DynamoDB calls of the requests they fall among.
  janitorIntervalMs: 24 * 3_600_000,
  upstream: { baseUrl: process.env.UPSTREAM_URL as string, models: ["gpt-4o-mini"] },
  responseObserver: {
    firstByte: () => {
      marks.firstByte = Table.calls;
    },
  },
});

serveMeasurements(
  { url: `${stack.url}/v1`, key: stack.demoKey, dynamoPid: stack.dynamoPid },
  {
    /** Sequential warm requests: DynamoDB calls before the first byte and after the last. */
    async dynamoCalls(stream: boolean, count: number) {
      let before = 0;
      let after = 0;
      for (let i = 0; i < count; i++) {
        await quiet();
        const start = Table.calls;
        const response = await fetch(`${stack.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${stack.demoKey}`, "content-type": "application/json" },
          body: JSON.stringify({
            model: "gpt-4o-mini",
            stream,
            max_tokens: 16,
            messages: [{ role: "user", content: "Hi" }],
          }),
        });
        await response.arrayBuffer();
        await quiet();
        before += marks.firstByte - start;
        after += Table.calls - marks.firstByte;
      }
      return { beforeFirstByte: before / count, afterLastByte: after / count };
    },
  },
);

/** Waits until no DynamoDB call has been made for a while: settlement has finished. */
async function quiet(): Promise<void> {
  let last = Table.calls;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    if (Table.calls === last) return;
    last = Table.calls;
  }
}
