import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UpstreamFixture } from "../fixtures/upstream";
import { admin, api, createFixtureChannel, createUser, editPricing, type Json } from "./support";

// A price that sets some rates and leaves others to fall back (reasoning → output, …).
const PRICE = {
  input: 1.25,
  cached_input: 0.125,
  cache_write: 1.5625,
  output: 10,
  per_call: 0.002,
};
const GROUP = `pp-${Math.random().toString(36).slice(2, 8)}`;
const MULTIPLIER = 1.5;

let upstream: UpstreamFixture;
let model: string;

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel({
    models: [`pp-${Math.random().toString(36).slice(2, 8)}`],
    price: PRICE,
  }));
  await editPricing((current) => ({ groups: { ...current.groups, [GROUP]: MULTIPLIER } }));
});

afterAll(async () => {
  await editPricing((current) => {
    const { [GROUP]: _gone, ...groups } = current.groups;
    return { groups };
  });
  await upstream.close();
});

/** What the page should show for `model` at `multiplier`, computed from the stored price list. */
async function expected(multiplier: number) {
  const stored: Json = (await admin("GET", "/api/pricing")).models[model];
  const amount = (usd: number) => ({
    usd: expect.closeTo(usd * multiplier, 9),
    units: expect.closeTo(usd * multiplier * 500_000, 6),
  });
  const { per_call, ...rates } = stored;
  return {
    id: model,
    free: false,
    priced: true,
    per_call: amount(per_call),
    rates: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, amount(v as number)])),
  };
}

function entry(body: Json) {
  return body.data.models.find((m: Json) => m.id === model);
}

describe("GET /api/pricing/public", () => {
  it("shows visitors the default group's prices, each set rate once, cacheable", async () => {
    const answer = await api(undefined, "GET", "/api/pricing/public");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("public, max-age=60");
    const groups = (await admin("GET", "/api/pricing")).groups;
    const multiplier = groups.default ?? 1;
    expect(answer.body.data).toMatchObject({
      group: "default",
      multiplier,
      units_per_usd: 500_000,
    });
    expect(entry(answer.body)).toEqual(await expected(multiplier));
    // Only the rates the price sets: a fallen-back rate is not repeated.
    expect(Object.keys(entry(answer.body).rates).sort()).toEqual(
      ["cache_write", "cached_input", "input", "output"].sort(),
    );
    // Another group's multiplier is never shown.
    expect(JSON.stringify(answer.body)).not.toContain(GROUP);
  });

  it("shows a signed-in user their own group's prices, privately", async () => {
    const user = await createUser({ group: GROUP });
    const [answer, visitor] = await Promise.all([
      api(user.accessToken, "GET", "/api/pricing/public"),
      api(undefined, "GET", "/api/pricing/public"),
    ]);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("private, no-store");
    expect(answer.body.data).toMatchObject({ group: GROUP, multiplier: MULTIPLIER });
    expect(entry(answer.body)).toEqual(await expected(MULTIPLIER));
    expect(entry(answer.body).rates.input.usd).not.toBe(entry(visitor.body).rates.input.usd);
  });

  it("refuses a credential that is not valid instead of treating it as a visitor", async () => {
    const answer = await api("not-a-token", "GET", "/api/pricing/public");
    expect(answer.status).toBe(401);
    expect(answer.body.success).toBe(false);
  });
});
