import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { StoreUnavailable } from "../../shared/errors";
import { Accounts, NotSent } from "../../shared/store/accounts";
import type { DynamoTransport } from "../../shared/store/dynamo-transport";
import { Table } from "../../shared/store/table";

/**
 * The group commit's queue (store/accounts.ts) against a DynamoDB whose answers the test
 * hands out one by one: what is sent, and when a queued change fails unsent.
 */
function controlledStore() {
  const sent: Record<string, unknown>[] = [];
  const answers: { answer(): void; fail(): void }[] = [];
  const transport: DynamoTransport = {
    send: (_operation, input) =>
      new Promise((resolve, reject) => {
        sent.push(input);
        answers.push({
          answer: () => resolve({ Attributes: { av: { N: "1000" } } }),
          // What the lean client throws once its attempts have timed out.
          fail: () =>
            reject(Object.assign(new Error("no answer"), { name: "DynamoAttemptTimeout" })),
        });
      }),
  };
  return { table: new Table(transport, "table"), sent, answers };
}

const hold = (id: string) => ({ id, start: Date.now(), units: 10, keyTag: "k", model: "m" });

/** Resolves once `count` requests have been sent. */
async function sentCount(store: { sent: unknown[] }, count: number): Promise<void> {
  while (store.sent.length < count) await sleep(1);
}

describe("the group commit's queue", () => {
  it("fails the changes queued behind a write the store did not answer, without sending them", async () => {
    const store = controlledStore();
    const accounts = new Accounts(store.table);
    const first = accounts.holdAccount("u", hold("first"));
    await sentCount(store, 1);
    const queued = [
      accounts.holdAccount("u", hold("second")),
      accounts.holdAccount("u", hold("third")),
    ];
    store.answers[0]?.fail();
    await expect(first).rejects.toBeInstanceOf(StoreUnavailable);
    for (const change of queued) await expect(change).rejects.toBeInstanceOf(NotSent);
    expect(store.sent).toHaveLength(1);

    // The next change finds an empty queue, and is sent.
    const later = accounts.holdAccount("u", hold("fourth"));
    await sentCount(store, 2);
    store.answers[1]?.answer();
    await expect(later).resolves.toEqual({ available: 1_000 });
  });

  it("sends the changes that waited together, once the write in flight is back", async () => {
    const store = controlledStore();
    const accounts = new Accounts(store.table);
    const first = accounts.holdAccount("u", hold("first"));
    await sentCount(store, 1);
    const queued = [
      accounts.holdAccount("u", hold("second")),
      accounts.holdAccount("u", hold("third")),
    ];
    store.answers[0]?.answer();
    await sentCount(store, 2);
    store.answers[1]?.answer();
    await expect(first).resolves.toBeDefined();
    for (const change of queued) await expect(change).resolves.toEqual({ available: 1_000 });
    expect(store.sent).toHaveLength(2);
    expect(String(store.sent[1]?.ConditionExpression)).toContain("attribute_not_exists(#h1)");
  });
});
