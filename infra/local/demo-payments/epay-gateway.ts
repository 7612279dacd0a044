import { randomBytes } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { epaySigned, epayVerify } from "../../../shared/payments/epay-sign";

/**
 * A demo EPay V1 gateway (易支付, as Rainbow EPay and the EasyPay-compatible gateways speak
 * it), for `npm start` and the tests: its cashier page takes a signed `submit.php` request,
 * and paying sends the signed notification to the merchant's notify URL (by POST form, as
 * the linux-do credit gateway does, or by GET) and the customer back to the return URL with
 * the same signed parameters. It signs with sluice's own payments/epay-sign.ts, so a signing
 * fault would not show here: that rule is pinned by published vectors (epay-sign.test.ts).
 *
 * For tests, `GET /demo/notification/<out_trade_no>` answers the signed notification of a
 * trade the cashier has seen (JSON), and `?forge=money:500.00` (or `pid:…`, `sign:…`) changes
 * a field after signing: what an attacker who cannot sign would send.
 */
export interface DemoEpayGateway {
  /** Its base URL (the merchant's `gateway` setting). */
  url: string;
  pid: string;
  key: string;
  close(): Promise<void>;
}

interface Trade {
  tradeNo: string;
  params: Record<string, string>;
  paid: boolean;
}

export async function startDemoEpayGateway(
  options: { pid?: string; key?: string; notifyMethod?: "GET" | "POST" } = {},
): Promise<DemoEpayGateway> {
  const pid = options.pid ?? "1001";
  const key = options.key ?? randomBytes(16).toString("hex");
  const trades = new Map<string, Trade>();

  /** The notification of a trade, signed, as the gateway sends it. */
  const notification = (trade: Trade): Record<string, string> =>
    epaySigned(
      {
        pid,
        trade_no: trade.tradeNo,
        out_trade_no: trade.params.out_trade_no as string,
        type: trade.params.type || "alipay",
        name: trade.params.name as string,
        money: trade.params.money as string,
        trade_status: "TRADE_SUCCESS",
        ...(trade.params.param ? { param: trade.params.param } : {}),
      },
      key,
    );

  const server = createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? "/", "http://gateway");
      const query = Object.fromEntries(url.searchParams);
      if (request.method === "GET" && url.pathname === "/submit.php") {
        if (query.pid !== pid || !epayVerify(query, key))
          return text(response, 400, "签名错误 (sign error)");
        if (!query.out_trade_no || !query.money || !query.notify_url)
          return text(response, 400, "missing parameters");
        let trade = trades.get(query.out_trade_no);
        if (!trade) {
          trade = {
            tradeNo: `${Date.now()}${randomBytes(4).toString("hex")}`,
            params: query,
            paid: false,
          };
          trades.set(query.out_trade_no, trade);
        }
        return html(
          response,
          `<h1>Demo EPay cashier</h1><p>${escapeHtml(query.name ?? "")}: ¥${escapeHtml(query.money)}</p>` +
            `<p><a id="pay" href="/pay/${encodeURIComponent(query.out_trade_no)}">Pay ¥${escapeHtml(query.money)}</a></p>`,
        );
      }
      const pay = /^\/pay\/([^/]+)$/.exec(url.pathname);
      if (request.method === "GET" && pay) {
        const trade = trades.get(decodeURIComponent(pay[1] as string));
        if (!trade) return text(response, 404, "no such trade");
        trade.paid = true;
        const signed = notification(trade);
        // The notification first, as gateways do; its answer does not stop the customer's return.
        await notify(
          trade.params.notify_url as string,
          signed,
          options.notifyMethod ?? "POST",
        ).catch(() => {});
        const back = new URL(trade.params.return_url || trade.params.notify_url || "/");
        for (const [name, value] of Object.entries(signed)) back.searchParams.set(name, value);
        response.writeHead(302, { location: back.toString() }).end();
        return;
      }
      const demo = /^\/demo\/notification\/([^/]+)$/.exec(url.pathname);
      if (request.method === "GET" && demo) {
        const trade = trades.get(decodeURIComponent(demo[1] as string));
        if (!trade) return text(response, 404, "no such trade");
        const signed = notification(trade);
        for (const change of url.searchParams.getAll("forge")) {
          const [field, ...value] = change.split(":");
          signed[field as string] = value.join(":");
        }
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(signed));
        return;
      }
      text(response, 404, "not found");
    } catch (err) {
      text(response, 500, String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    key,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function notify(
  notifyUrl: string,
  params: Record<string, string>,
  method: "GET" | "POST",
): Promise<string> {
  const form = new URLSearchParams(params);
  const response =
    method === "POST"
      ? await fetch(notifyUrl, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: form.toString(),
        })
      : await fetch(`${notifyUrl}?${form}`);
  return response.text();
}

function text(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(body);
}

function html(response: ServerResponse, body: string): void {
  response
    .writeHead(200, { "content-type": "text/html; charset=utf-8" })
    .end(`<!doctype html><meta charset="utf-8"><title>Demo EPay</title>${body}`);
}

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
