import { beforeAll, describe, expect, it } from "vitest";
import { epaySigned } from "../../shared/payments/epay-sign";
import { type Core, startCore } from "../fixtures/core";
import { capturedLog, type LogLine } from "../fixtures/logs";

/**
 * EPay notifications an attacker sends, on the in-process core (a site of its own, EPay set in
 * its section): every forgery is answered `fail`, writes nothing (counted by the memory
 * table's log), and leaves a `payment_notification_refused` line naming why.
 */

const KEY = "core-merchant-key";
const WRITES = new Set([
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "TransactWriteItems",
  "BatchWriteItem",
]);

let core: Core;
let lines: LogLine[];
let user: { token: string };

beforeAll(async () => {
  const captured = capturedLog({ level: "WARN" });
  lines = captured.lines;
  core = await startCore({
    env: { SLUICE_PUBLIC_ORIGIN: "https://ai.example" },
    log: captured.log,
  });
  await core.services.siteOptions.update({
    "payments.epay": { enabled: true, gateway: "https://pay.example", pid: "1001", key: KEY },
  });
  const made = await core.call("POST", "/api/user", {
    headers: { authorization: `Bearer ${core.admin.accessToken}` },
    body: { name: "buyer" },
  });
  user = { token: made.body.data.access_token };
});

async function newOrder() {
  const made = await core.call("POST", "/api/payment/epay", {
    headers: { authorization: `Bearer ${user.token}` },
    body: { amount_minor: 3500, type: "alipay" },
  });
  expect(made.status, JSON.stringify(made.body)).toBe(200);
  const url = new URL(made.body.data.url);
  expect(url.origin + url.pathname).toBe("https://pay.example/submit.php");
  expect(url.searchParams.get("notify_url")).toBe("https://ai.example/api/payment/epay/notify");
  return {
    id: made.body.data.order_id as string,
    ref: url.searchParams.get("out_trade_no") as string,
  };
}

const notification = (ref: string, fields: Record<string, string> = {}) =>
  epaySigned(
    {
      pid: "1001",
      trade_no: "T20261206",
      out_trade_no: ref,
      type: "alipay",
      name: "Credit 35.00 CNY",
      money: "35.00",
      trade_status: "TRADE_SUCCESS",
      ...fields,
    },
    KEY,
  );

const notify = (params: Record<string, string>) =>
  core.call("POST", "/api/payment/epay/notify", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
    from: "203.0.113.9",
  });

describe("forged EPay notifications", () => {
  it.each([
    ["signature", (ref: string) => ({ ...notification(ref), money: "0.01" })],
    ["signature", (ref: string) => ({ ...notification(ref), sign: "f".repeat(32) })],
    ["signature", (ref: string) => epaySigned({ ...notification(ref), sign: "" }, "not-the-key")],
    ["pid", (ref: string) => notification(ref, { pid: "2002" })],
    ["status", (ref: string) => notification(ref, { trade_status: "WAIT_BUYER_PAY" })],
    ["money", (ref: string) => notification(ref, { money: "35.001" })],
    ["reference", () => notification("not-an-order")],
  ])("refused (%s): fail, no write, a log line", async (reason, forge) => {
    const { ref } = await newOrder();
    const before = lines.length;
    const answers = await core.requestsDuring(async () => {
      const answer = await notify(forge(ref));
      expect(answer.body).toBe("fail");
    });
    expect(answers.filter((op) => WRITES.has(op))).toEqual([]);
    const logged = lines
      .slice(before)
      .find((line) => line.message === "payment_notification_refused");
    expect(logged).toMatchObject({ provider: "epay", reason, ip: "203.0.113.9" });
  });

  it("a signed amount that is not the order's: mismatch, answered success, never credited", async () => {
    const { id, ref } = await newOrder();
    const answer = await notify(notification(ref, { money: "3500.00" }));
    expect(answer.body).toBe("success");
    const order = await core.call("GET", `/api/payment/order/${id}`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(order.body.data.state).toBe("mismatch");
    expect(lines.some((line) => line.message === "payment_mismatch")).toBe(true);
  });
});
