/**
 * sluice under test, in a process of its own: the whole local stack (DynamoDB Local, fauxqs,
 * the real handler behind the local function URL) with a real key, a priced model, holds,
 * settlement and usage logs on, relaying to the benchmark's upstream. The usage rollups
 * gather log lines as long as on AWS (USAGE_ROLLUP.maxBatchingWindowSeconds).
 */

import { startLocalStack } from "../../infra/local/stack";
import { createKey } from "../../shared/bootstrap";
import { USAGE_ROLLUP } from "../../shared/config/resources";
import { Table } from "../../shared/store/table";
import { DynamoCallCounter, JANITOR_OFF_MS } from "../dynamo-calls";
import { serveMeasurements } from "./ipc";

const counter = new DynamoCallCounter();
const stack = await startLocalStack({
  port: 0,
  // DynamoDB Local's steady throughput is measured: its JIT as a long-lived JVM's.
  dynamoJit: "full",
  janitorIntervalMs: JANITOR_OFF_MS,
  rollupBatchingWindowMs: USAGE_ROLLUP.maxBatchingWindowSeconds * 1000,
  upstream: { baseUrl: process.env.UPSTREAM_URL as string, models: ["gpt-4o-mini"] },
  responseObserver: counter.observer,
});
const limited = await createKey(stack.services, {
  userId: stack.adminUserId,
  name: "bench, limited",
  unlimitedQuota: false,
  remainQuota: 1e12,
});

const chat = (stream: boolean) => ({
  model: "gpt-4o-mini",
  stream,
  max_tokens: 16,
  messages: [{ role: "user", content: "Hi" }],
});

async function plainChat(key: string, stream: boolean): Promise<void> {
  const response = await fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(chat(stream)),
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`request failed with ${response.status}`);
}

serveMeasurements(
  {
    url: `${stack.url}/v1`,
    key: stack.demoKey,
    dynamoPid: stack.dynamoPid,
    // The functions' environment (the stack's resources), for an API function run apart.
    env: JSON.stringify(process.env),
  },
  {
    /** Sequential warm requests: DynamoDB calls before the first byte and after the last. */
    async dynamoCalls(stream: boolean, count: number) {
      let before = 0;
      let after = 0;
      for (let i = 0; i < count; i++) {
        const calls = await counter.chat(stack.url, stack.demoKey, chat(stream));
        before += calls.before;
        after += calls.after;
      }
      return { beforeFirstByte: before / count, afterLastByte: after / count };
    },

    /**
     * Write and read units per call as DynamoDB Local reports them (ReturnConsumedCapacity:
     * INDEXES, so index writes count too): on the request path, and the rollups' share once
     * they have added the calls up.
     */
    async capacityUnits(
      stream: boolean,
      count: number,
      keyKind: "unlimited" | "limited",
      concurrency = 1,
    ) {
      const key = keyKind === "limited" ? limited.secret : stack.demoKey;
      for (let i = 0; i < 5; i++) await counter.chat(stack.url, key, chat(stream));
      await stack.rollups.drain();
      Table.measure = true;
      for (const label of Object.keys(Table.capacity)) delete Table.capacity[label];
      try {
        if (concurrency === 1) {
          for (let i = 0; i < count; i++) await counter.chat(stack.url, key, chat(stream));
        } else {
          // Calls at once on one account: its writes commit in groups.
          let next = 0;
          await Promise.all(
            Array.from({ length: concurrency }, async () => {
              while (next++ < count) await plainChat(key, stream);
            }),
          );
          await counter.chat(stack.url, key, chat(stream)); // waits until settlement is quiet
        }
        await stack.rollups.drain();
      } finally {
        Table.measure = false;
      }
      const spent = (label: string) => Table.capacity[label] ?? { read: 0, write: 0 };
      return {
        requestWrites: spent("requests").write / count,
        requestReads: spent("requests").read / count,
        rollupWrites: spent("rollups").write / count,
      };
    },
  },
);
