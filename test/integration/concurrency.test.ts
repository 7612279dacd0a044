import type OpenAI from "openai";
import type { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { costInUnits } from "../../shared/billing/cost";
import { chatPromptBound, imageFormulaFor } from "../../shared/billing/prompt-bound";
import { accountKey } from "../../shared/store/accounts";
import type { UpstreamFixture } from "../fixtures/upstream";
import {
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  settledAccount,
  sluice,
  sluiceTable,
} from "./support";

const PRICE = { input: 10, output: 30 };
const MAX_TOKENS = 20;
const CONTENT = "Say hello";

let upstream: UpstreamFixture;
let model: string;

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel({ price: PRICE }));
});
afterAll(() => upstream.close());

/** What sluice holds per call: its prompt's upper bound plus max_tokens, at the model's price. */
const holdPerCall = () =>
  costInUnits(
    PRICE,
    {
      inputTokens: chatPromptBound(
        { model, messages: [{ role: "user", content: CONTENT }], max_tokens: MAX_TOKENS },
        imageFormulaFor(model),
      ),
      outputTokens: MAX_TOKENS,
    },
    [1],
  );

/** The same small chat call every test makes. */
function chat(client: OpenAI) {
  return client.chat.completions.create({
    model,
    messages: [{ role: "user", content: CONTENT }],
    max_tokens: MAX_TOKENS,
  });
}

/** `count` calls at once: how many went through, and the refusals. */
async function inParallel(client: OpenAI, count: number) {
  const results = await Promise.allSettled(Array.from({ length: count }, () => chat(client)));
  return {
    accepted: results.filter((r) => r.status === "fulfilled").length,
    refused: results.filter((r): r is PromiseRejectedResult => r.status === "rejected"),
  };
}

describe("quota under concurrency", () => {
  it("never lets 200 parallel calls spend past a balance that covers about 50", async () => {
    const hold = holdPerCall();
    const balance = hold * 50;
    const user = await createUserWithKey({ paidUsd: balance / 500_000 });
    const client = openai(user.secret);
    const upstreamBefore = upstream.requests.length;

    const { accepted, refused } = await inParallel(client, 200);
    for (const r of refused) {
      expect((r.reason as APIError).status).toBe(429);
      expect((r.reason as APIError).code).toBe("insufficient_quota");
    }
    // Each call costs less than its hold, so refunds let more than 50 through, but not all.
    expect(accepted).toBeGreaterThanOrEqual(50);
    expect(refused.length).toBeGreaterThan(0);
    // The upstream call may start beside the hold, but only while the balance, less the holds
    // already in flight, clearly covers it: most refused calls never reached the upstream.
    const upstreamCalls = upstream.requests.length - upstreamBefore;
    expect(upstreamCalls - accepted).toBeLessThan(refused.length / 2);

    // Settlement ends after the responses: wait for every accepted call's log line.
    const consumed = await eventually(
      async () => {
        const lines: Record<string, Json>[] = [];
        let cursor: string | null = null;
        do {
          const page: Json = (
            await api(
              user.accessToken,
              "GET",
              `/api/log/self?size=200${cursor ? `&cursor=${cursor}` : ""}`,
            )
          ).body;
          lines.push(...page.data);
          cursor = page.next_cursor;
        } while (cursor);
        return lines.filter((line) => line.type === "consume");
      },
      (lines) => lines.length >= accepted,
      20_000,
    );
    expect(consumed.length).toBe(accepted);
    expect(new Set(consumed.map((line) => line.request_id)).size).toBe(accepted);
    await settledAccount(user.id);

    const me = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
    const charged = consumed.reduce((sum, line) => sum + line.quota, 0);
    expect(me.used_quota).toBe(charged);
    expect(me.total_quota).toBe(balance - charged);
    expect(me.request_count).toBe(accepted);
    // A call never costs more than its hold, so the balance never goes below zero.
    expect(me.total_quota).toBeGreaterThanOrEqual(0);

    // No hold is left behind: what can be held again is exactly what remains.
    const item = await sluiceTable().get<{ av: number }>(accountKey(user.id), true);
    expect(item?.av).toBe(me.total_quota);

    // Spend what refunds left over; once refused, a caller without quota costs no upstream call.
    // A call's answer comes before its settlement gives back what it held over its price, so a
    // call right after it can be refused and the next, once that lands, accepted: spend until a
    // call is refused with nothing held.
    const call = () => chat(client);
    const accepts = () =>
      call().then(
        () => true,
        () => false,
      );
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 200 && (await accepts()); i++);
      await settledAccount(user.id);
      if (!(await accepts())) break;
    }
    await settledAccount(user.id);
    const before = upstream.requests.length;
    await expect(call()).rejects.toMatchObject({ status: 429, code: "insufficient_quota" });
    expect(upstream.requests.length).toBe(before);
  });
});

describe("a limited key under concurrency", () => {
  it("never lets 100 parallel calls spend past a remain_quota that covers about 20", async () => {
    const hold = holdPerCall();
    const user = await createUserWithKey(
      { paidUsd: 10 },
      { remain_quota: hold * 20, unlimited_quota: false },
    );
    const client = openai(user.secret);
    const { accepted, refused } = await inParallel(client, 100);
    expect(accepted).toBeGreaterThanOrEqual(20);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r.reason as APIError).status).toBe(429);

    const key = await eventually(
      async () =>
        (await api(user.accessToken, "GET", `/api/token/${user.keyId}`)).body.data as Json,
      (k) => k.used_quota > 0 && k.used_quota + k.remain_quota === hold * 20,
    );
    const me = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
    // Exact: what the key spent is what its user was charged, and it never went below zero
    // by more than one hold.
    expect(key.used_quota).toBe(me.used_quota);
    expect(key.remain_quota).toBeGreaterThanOrEqual(0);
    expect(me.request_count).toBe(accepted);
  });
});

describe("top-ups under concurrency", () => {
  it("lands 50 top-ups at once into mixed buckets while calls spend: every bucket exact", async () => {
    // Free covers all the spending, so where each unit goes is known whatever the order.
    const user = await createUserWithKey({ freeUsd: 1, paidUsd: 0 });
    const client = openai(user.secret);
    const buckets = ["free", "bonus", "paid"] as const;
    const topUps = Array.from({ length: 50 }, (_, i) =>
      api(sluice.adminToken, "POST", `/api/user/${user.id}/topup`, {
        quota: 1_000 + i,
        bucket: buckets[i % 3],
      }),
    );
    const calls = Array.from({ length: 20 }, () => chat(client));
    const answers = await Promise.all(topUps);
    await Promise.all(calls);
    for (const answer of answers) expect(answer.status).toBe(200);

    const granted = { free: 500_000, bonus: 0, paid: 0 };
    for (let i = 0; i < 50; i++) granted[buckets[i % 3] as keyof typeof granted] += 1_000 + i;
    const me = await eventually(
      async () => (await api(user.accessToken, "GET", "/api/user/self")).body.data as Json,
      (self) => self.request_count === 20,
    );
    expect(me.bonus_quota).toBe(granted.bonus);
    expect(me.paid_quota).toBe(granted.paid);
    expect(me.free_quota).toBe(granted.free - me.used_quota);
    expect(me.total_quota).toBe(granted.free + granted.bonus + granted.paid - me.used_quota);
    const item = await sluiceTable().get<{ av: number }>(accountKey(user.id), true);
    expect(item?.av).toBe(me.total_quota);
    // Each top-up is a line in the user's log.
    const lines = (await api(user.accessToken, "GET", "/api/log/self?size=200")).body.data;
    expect(lines.filter((line: Json) => line.type === "topup")).toHaveLength(51);
  });
});
