/**
 * sluice under test, in a process of its own: the whole local stack (DynamoDB Local, fauxqs,
 * the real handler behind the local function URL) with a real key, a priced model, holds,
 * settlement and usage logs on, relaying to the benchmark's upstream.
 */
import { startLocalStack } from "../../infra/local/stack";
import { DynamoCallCounter, JANITOR_OFF_MS } from "../dynamo-calls";
import { serveMeasurements } from "./ipc";

const counter = new DynamoCallCounter();
const stack = await startLocalStack({
  port: 0,
  janitorIntervalMs: JANITOR_OFF_MS,
  upstream: { baseUrl: process.env.UPSTREAM_URL as string, models: ["gpt-4o-mini"] },
  responseObserver: counter.observer,
});

serveMeasurements(
  { url: `${stack.url}/v1`, key: stack.demoKey, dynamoPid: stack.dynamoPid },
  {
    /** Sequential warm requests: DynamoDB calls before the first byte and after the last. */
    async dynamoCalls(stream: boolean, count: number) {
      let before = 0;
      let after = 0;
      for (let i = 0; i < count; i++) {
        const calls = await counter.chat(stack.url, stack.demoKey, {
          model: "gpt-4o-mini",
          stream,
          max_tokens: 16,
          messages: [{ role: "user", content: "Hi" }],
        });
        before += calls.before;
        after += calls.after;
      }
      return { beforeFirstByte: before / count, afterLastByte: after / count };
    },
  },
);
