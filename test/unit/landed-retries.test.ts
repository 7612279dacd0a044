/**
 * Writes whose first attempt lands but whose answer is lost. The DynamoDB client then sends
 * the same request again (functions/adapters/dynamodb-http.ts), and the retry meets the item
 * as its own first attempt left it: a condition that held before may fail now, a counter may
 * count twice. Each store's write must come out as if sent once. Here a memory DynamoDB
 * applies the chosen request, forgets its answer and applies it again, as that retry does
 * (test/integration/mail.test.ts and credentials.test.ts do the same through the real client
 * and a fault proxy).
 */
import { createHash, randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../shared/auth/secrets";
import { MOVES } from "../../shared/batches/lifecycle";
import { newBatchRecord } from "../../shared/batches/start";
import { PricingCatalog } from "../../shared/billing/pricing";
import { Batches } from "../../shared/store/batches";
import { Channels, newChannelRecord } from "../../shared/store/channels";
import type { DynamoOperation } from "../../shared/store/dynamo-transport";
import { orderKey, userKey, verificationKey } from "../../shared/store/keys";
import { Orders } from "../../shared/store/orders";
import { Redemptions, redemptionId } from "../../shared/store/redemptions";
import { SiteContentStore } from "../../shared/store/site-content";
import { Table } from "../../shared/store/table";
import { Uploads } from "../../shared/store/uploads";
import { newUserProfile } from "../../shared/store/users";
import { Verifications } from "../../shared/store/verifications";
import { startCore } from "../fixtures/core";
import { LostAnswers, type Match } from "../fixtures/memory-dynamo/lost-answers";

const is =
  (operation: DynamoOperation): Match =>
  (op) =>
    op === operation;

let dynamo: LostAnswers;
let table: Table;
beforeEach(() => {
  dynamo = new LostAnswers();
  table = new Table(dynamo, "sluice");
});

describe("a write whose answer is lost, sent again", () => {
  it("completes an upload once: the file it made is its own", async () => {
    const uploads = new Uploads(table);
    const id = `upload_${randomUUID()}`;
    await uploads.create({
      id,
      userId: "user_1",
      filename: "a.jsonl",
      purpose: "batch",
      bytes: 1,
      mimeType: "text/jsonl",
      createdAt: 1,
      expiresAt: 4_000_000_000,
      status: "pending",
      fileId: null,
    });
    dynamo.lose(is("UpdateItem"));
    expect(await uploads.finish(id, "completed", "file-mine")).toBe(true);
    expect(dynamo.repeated).toBe(1);
    expect(await uploads.get(id)).toMatchObject({ status: "completed", fileId: "file-mine" });
    // Another finish (a second complete, a cancel) is still refused.
    expect(await uploads.finish(id, "cancelled", null)).toBe(false);
  });

  it("makes a batch's move once, and hands back the batch as moved", async () => {
    const batches = new Batches(table);
    const batch = newBatchRecord(
      {
        userId: "user_1",
        keyId: "key_1",
        endpoint: "/v1/chat/completions",
        inputFileId: "file-in",
        metadata: null,
        outputTtlSeconds: 86_400,
      },
      1,
    );
    await batches.create(batch);
    dynamo.lose(is("UpdateItem"));
    const moved = await batches.transition(batch.id, MOVES.start, { inProgressAt: 5 });
    expect(dynamo.repeated).toBe(1);
    expect(moved).toEqual({ ...batch, status: "in_progress", inProgressAt: 5 });
    // Nobody else makes the same move after it.
    expect(await batches.transition(batch.id, MOVES.start, { inProgressAt: 6 })).toBeUndefined();
  });

  it("creates a redemption code, releases one and deletes one, each once", async () => {
    const redemptions = new Redemptions(table);
    const code = randomUUID().replaceAll("-", "");
    const fields = {
      name: "gift",
      quota: 100,
      bucket: "paid" as const,
      createdAt: 1,
      createdBy: "admin",
    };
    dynamo.lose(is("PutItem"));
    await redemptions.create(code, fields);
    expect(await redemptions.get(redemptionId(code))).toMatchObject({ status: "enabled" });
    // Another code of the same id is still refused.
    await expect(redemptions.create(code, { ...fields, quota: 5 })).rejects.toThrow();
    const used = await redemptions.redeem(redemptionId(code), "user_1", 2);
    expect(used).toMatchObject({ status: "used", usedBy: "user_1" });
    dynamo.lose(is("UpdateItem"));
    await redemptions.release(redemptionId(code), "user_1");
    expect(await redemptions.get(redemptionId(code))).toMatchObject({ status: "enabled" });
    dynamo.lose(is("DeleteItem"));
    expect(await redemptions.delete(redemptionId(code))).toBe(true);
    expect(await redemptions.delete(redemptionId(code))).toBe(false);
    expect(dynamo.repeated).toBe(3);
  });

  it("deletes a channel once: found, then gone", async () => {
    const channels = new Channels(table);
    const channel = newChannelRecord({
      id: `ch_${randomUUID()}`,
      baseUrl: "http://x",
      models: ["m"],
    });
    await channels.put(channel);
    dynamo.lose(is("DeleteItem"));
    expect(await channels.delete(channel.id)).toBe(true);
    expect(dynamo.repeated).toBe(1);
    expect(await channels.delete(channel.id)).toBe(false);
  });

  it("adds an order's note once: counted once", async () => {
    const orders = new Orders(table);
    const order = await orders.create({
      id: `ord_${randomUUID()}`,
      userId: "user_1",
      provider: "stripe",
      currency: "USD",
      amountMinor: 1000,
      unitsPer: 1,
      units: 1000,
      createdAt: 1,
    } as Parameters<Orders["create"]>[0]);
    dynamo.lose(is("UpdateItem"));
    const noted = await orders.addNote(order, { at: 2, by: "admin", text: "called them" });
    expect(dynamo.repeated).toBe(1);
    expect(noted?.notes).toHaveLength(1);
    expect((await orders.get(order.userId, order.id))?.notes).toHaveLength(1);
    // The count the cap of notes is checked against.
    const stored = await table.get(orderKey(order.userId, order.id), true);
    expect(stored?.noteCount).toBe(1);
  });

  it("saves prices and site content at the version the admin read", async () => {
    const pricing = new PricingCatalog(table, 0);
    const first = await pricing.update((current) => current);
    dynamo.lose(is("PutItem"));
    const next = await pricing.update((current) => current, first.version);
    expect(next.version).toBe(first.version + 1);
    expect((await pricing.get()).version).toBe(next.version);
    const content = new SiteContentStore(table, 0);
    const saved = await content.update("en", { about: "first" });
    dynamo.lose(is("UpdateItem"));
    const again = await content.update(
      "en",
      { about: "second" },
      { expectedVersion: saved.version },
    );
    expect(again).toMatchObject({ about: "second", version: saved.version + 1 });
    expect(dynamo.repeated).toBe(2);
  });

  it("counts a code's try once, though another try was counted in between", async () => {
    const verifications = new Verifications(table);
    const email = `race-${randomUUID()}@example.test`;
    const code = await verifications.issue(email);
    const wrong = code === "000000" ? "000001" : "000000";
    const counts = (operation: DynamoOperation, input: Record<string, unknown>) =>
      operation === "UpdateItem" && String(input.UpdateExpression).includes("attempts");
    let between: string | undefined;
    dynamo.lose(counts, async () => {
      between = await verifications.check(email, wrong);
    });
    expect(await verifications.check(email, wrong)).toBe("wrong");
    expect(between).toBe("wrong");
    // The code's item is keyed by the address's hash (store/verifications.ts).
    const addressHash = createHash("sha256").update(email).digest("hex");
    const item = await table.get(verificationKey(addressHash), true);
    expect(item?.attempts).toBe(2);
    expect(await verifications.check(email, code)).toBe("ok");
  });

  it("still refuses a save at a version another admin saved first", async () => {
    const content = new SiteContentStore(table, 0);
    const saved = await content.update("en", { about: "first" });
    const results = await Promise.allSettled([
      content.update("en", { about: "mine" }, { expectedVersion: saved.version }),
      content.update("en", { about: "theirs" }, { expectedVersion: saved.version }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
  });

  it("saves the site's options at the version the admin read", async () => {
    const { services } = await startCore({ dynamo });
    const first = await services.siteOptions.update({ checkin: { enabled: true } });
    dynamo.lose(
      (op, input) => op === "UpdateItem" && String(input.UpdateExpression).includes("writeId"),
    );
    const next = await services.siteOptions.update(
      { checkin: { enabled: false } },
      { expectedVersion: first.version },
    );
    expect(dynamo.repeated).toBe(1);
    expect(next.version).toBe(first.version + 1);
  });

  it("deletes a key of a user whose keys are not counted yet, once", async () => {
    const { services } = await startCore({ dynamo });
    const user = newUserProfile({ id: newId("user_", 16), name: `k${newId("", 8)}` });
    await services.users.create(user);
    const key = await services.apiKeys.create(`sk-${randomUUID()}`, {
      userId: user.id,
      name: "old",
    });
    // A user from before keys were counted: no count on the profile.
    await table.update(userKey(user.id), { update: "REMOVE kn" });
    dynamo.lose((op) => op === "DeleteItem");
    await services.apiKeys.delete(key.id, user.id);
    expect(dynamo.repeated).toBe(1);
    expect(await services.apiKeys.get(key.id, true)).toBeUndefined();
  });
});
