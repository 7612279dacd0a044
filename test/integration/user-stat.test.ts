import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyKey } from "../../shared/store/api-keys";
import type { UpstreamFixture } from "../fixtures/upstream";
import {
  api,
  createFixtureChannel,
  createKey,
  createUser,
  eventually,
  type Json,
  openai,
  sluiceTable,
  type TestUser,
} from "./support";

let upstream: UpstreamFixture;
let model: string;
let user: TestUser;
const expiry = Math.floor(Date.UTC(2031, 0, 2, 3, 4, 5) / 1000);

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel({ price: { input: 10, output: 30 } }));
  user = await createUser({ freeUsd: 1.654544, bonusUsd: 2, paidUsd: 3 });
  const everyday = await createKey(user, { name: "status" });
  await createKey(user, { name: "鸭梨", remain_quota: 2_171_914, expired_time: expiry });
  await openai(everyday.secret).chat.completions.create({
    model,
    messages: [{ role: "user", content: "Say hello" }],
  });
  await eventually(
    async () => (await api(user.accessToken, "GET", "/api/user/self")).body.data.request_count,
    (n) => n === 1,
  );
  // A key's used_quota is added up from the log, off the request path.
  await eventually(
    async () => (await api(user.accessToken, "GET", "/api/user/stat")).body.token as Json[],
    (tokens) => tokens.some((token) => token.used_quota > 0),
  );
});
afterAll(() => upstream.close());

const DATE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const dollars = (units: number) => Math.round((units / 500_000) * 1e6) / 1e6;

describe("GET /api/user/stat", () => {
  it("has exactly seed 000's shape: token[] and user, no envelope", async () => {
    const answer = await api(user.accessToken, "GET", "/api/user/stat");
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(["token", "user"]);
    for (const token of answer.body.token) {
      expect(Object.keys(token)).toEqual([
        "key",
        "status",
        "name",
        "created_time",
        "accessed_time",
        "expired_time",
        "remain_quota",
        "remain_quota_dollar",
        "unlimited_quota",
        "used_quota",
        "used_quota_dollar",
      ]);
    }
    expect(Object.keys(answer.body.user)).toEqual([
      "free_quota",
      "free_quota_dollar",
      "bonus_quota",
      "bonus_quota_dollar",
      "paid_quota",
      "paid_quota_dollar",
      "total_quota",
      "total_quota_dollar",
      "used_quota",
      "used_quota_dollar",
      "request_count",
    ]);
  });

  it("formats each key field like the seed", async () => {
    const { token } = (await api(user.accessToken, "GET", "/api/user/stat")).body;
    const byName = Object.fromEntries(token.map((t: Json) => [t.name, t]));
    const everyday = byName.status;
    const limited = byName.鸭梨;

    for (const t of [everyday, limited]) {
      expect(t.key).toMatch(/^sk-[A-Za-z0-9]{4}…[A-Za-z0-9]{4}$/);
      expect(t.status).toBe("enabled");
      expect(t.created_time).toMatch(DATE_TIME);
      expect(t.accessed_time).toMatch(DATE_TIME);
      // UTC: the formatted time is the ISO time without its T and zone.
      expect(
        Math.abs(Date.parse(`${t.created_time.replace(" ", "T")}Z`) - Date.now()),
      ).toBeLessThan(120_000);
      expect(t.remain_quota_dollar).toBe(dollars(t.remain_quota));
      expect(t.used_quota_dollar).toBe(dollars(t.used_quota));
      expect(Number.isInteger(t.remain_quota)).toBe(true);
    }
    // An unlimited key that has been used counts below zero, as in the seed.
    expect(everyday).toMatchObject({
      expired_time: "never",
      unlimited_quota: true,
      used_quota: 160,
      remain_quota: -160,
    });
    expect(everyday.remain_quota_dollar).toBe(-0.00032);
    expect(limited).toMatchObject({
      expired_time: "2031-01-02 03:04:05",
      unlimited_quota: false,
      remain_quota: 2_171_914,
      remain_quota_dollar: 4.343828,
      used_quota: 0,
      used_quota_dollar: 0,
    });
  });

  it("reports the user's buckets, their sum and their dollar values", async () => {
    const stat = (await api(user.accessToken, "GET", "/api/user/stat")).body.user;
    expect(stat).toEqual({
      // 827,272 free units ($1.654544) paid for the 160-unit call first.
      free_quota: 827_112,
      free_quota_dollar: 1.654224,
      bonus_quota: 1_000_000,
      bonus_quota_dollar: 2,
      paid_quota: 1_500_000,
      paid_quota_dollar: 3,
      total_quota: 3_327_112,
      total_quota_dollar: 6.654224,
      used_quota: 160,
      used_quota_dollar: 0.00032,
      request_count: 1,
    });
  });
  it("says which keys are expired, exhausted or disabled", async () => {
    const owner = await createUser();
    const past = Math.floor(Date.now() / 1000) - 60;
    const old = await createKey(owner, { name: "old" });
    // The API only takes future expiry times: this key's time has come meanwhile.
    await sluiceTable().update(apiKeyKey(old.id), {
      update: "SET expiredTime = :past",
      values: { ":past": past },
    });
    await createKey(owner, { name: "spent", remain_quota: 0, unlimited_quota: false });
    const off = await createKey(owner, { name: "off" });
    await api(owner.accessToken, "PUT", `/api/token/${off.id}`, { status: "disabled" });
    const { token } = (await api(owner.accessToken, "GET", "/api/user/stat")).body;
    const statusOf = Object.fromEntries(token.map((t: Json) => [t.name, t.status]));
    expect(statusOf).toEqual({ old: "expired", spent: "exhausted", off: "disabled" });
    expect(token.find((t: Json) => t.name === "old").expired_time).toBe(
      new Date(past * 1000).toISOString().replace("T", " ").slice(0, 19),
    );
  });
});
