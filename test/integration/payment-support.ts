import { expect } from "vitest";
import { api, sluice } from "./support";

/**
 * An order of the token's user through the stack's demo EPay gateway (configured at start),
 * and paid there when `pay`: the gateway's signed notification, sent as the gateway sends it.
 * Answers the order's reference (`out_trade_no`).
 */
export async function epayOrder(token: string, pay: boolean, amountMinor = 1500): Promise<string> {
  const made = await api(token, "POST", "/api/payment/epay", {
    amount_minor: amountMinor,
    type: "alipay",
  });
  expect(made.status, JSON.stringify(made.body)).toBe(200);
  const url = new URL(made.body.data.url);
  expect((await fetch(url)).status).toBe(200);
  const ref = url.searchParams.get("out_trade_no") as string;
  if (pay) {
    const signed = (await (await fetch(`${url.origin}/demo/notification/${ref}`)).json()) as Record<
      string,
      string
    >;
    const notified = await fetch(`${sluice.url}/api/payment/epay/notify`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(signed).toString(),
    });
    expect(await notified.text()).toBe("success");
  }
  return ref;
}
