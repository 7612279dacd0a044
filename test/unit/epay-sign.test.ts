import { describe, expect, it } from "vitest";
import {
  epaySign,
  epaySigned,
  epaySigningString,
  epayVerify,
} from "../../shared/payments/epay-sign";

/**
 * EPay V1's signature, pinned: go-epay's published vectors (Calcium-Ion/go-epay,
 * epay/util_test.go: the parameters filtered and sorted, and MD5String), and three
 * notifications in the documented shape whose MD5s were computed once with `md5sum` over the
 * signing string and the key (kept as literals, never recomputed here).
 */

describe("go-epay's vectors (epay/util_test.go)", () => {
  it("TestParamsFilter: sign, sign_type and empty values are left out", () => {
    const params = {
      pid: "1",
      type: "1",
      out_trade_no: "1",
      notify_url: "1",
      name: "1",
      money: "1",
      device: "1",
      sign_type: "MD5",
      sign: "",
    };
    expect(epaySigningString(params)).toBe(
      "device=1&money=1&name=1&notify_url=1&out_trade_no=1&pid=1&type=1",
    );
  });

  it("TestParamsSort + TestCreateUrlString: keys by byte order, k=v joined by &", () => {
    const params = {
      pid: "pidv",
      type: "typev",
      out_trade_no: "out_trade_nov",
      notify_url: "notify_urlv",
      name: "namev",
      money: "moneyv",
      device: "devicev",
    };
    expect(epaySigningString(params)).toBe(
      "device=devicev&money=moneyv&name=namev&notify_url=notify_urlv&out_trade_no=out_trade_nov&pid=pidv&type=typev",
    );
    expect(epaySigningString({})).toBe("");
  });

  it("TestMD5String: MD5 of the string with the key appended", () => {
    expect(epaySign({ money: "moneyv", device: "devicev" }, "1234567")).toBe(
      "3854cc9f022e0fb821bd2e002260245d",
    );
  });
});

const KEY = "k3y-of-merchant-1001";

/** Notifications as a gateway sends them, each with the MD5 `md5sum` gave for it. */
const NOTIFICATIONS: [string, Record<string, string>, string][] = [
  [
    "Alipay, ASCII name",
    {
      pid: "1001",
      trade_no: "2026120611240001",
      out_trade_no: "AbCdEfGhIjKlMnOp01KBXYZ0000000000000000000",
      type: "alipay",
      name: "sluice $5 credit",
      money: "5.00",
      trade_status: "TRADE_SUCCESS",
    },
    "8648405f691bd75b9293ffc84973abc6",
  ],
  [
    "WeChat Pay, a UTF-8 name and a param",
    {
      pid: "1001",
      trade_no: "4200002026120600000001",
      out_trade_no: "ZyXwVuTsRqPoNmLk01KBXYZ1111111111111111111",
      type: "wxpay",
      name: "充值 ¥35",
      money: "35.00",
      trade_status: "TRADE_SUCCESS",
      param: "from-console",
    },
    "d71f1a3b088213787520689f45bdbdbc",
  ],
  [
    "an empty param is not signed",
    {
      pid: "2002",
      trade_no: "T1",
      out_trade_no: "a",
      type: "qqpay",
      name: "t",
      money: "0.01",
      trade_status: "TRADE_SUCCESS",
      param: "",
    },
    "d5b990d25ab6e617047fb63c4895a99a",
  ],
];

describe("notifications in the documented shape", () => {
  it.each(NOTIFICATIONS)("%s", (_, params, md5) => {
    expect(epaySign(params, KEY)).toBe(md5);
    const signed = { ...params, sign: md5, sign_type: "MD5" };
    expect(epayVerify(signed, KEY)).toBe(true);
    // sign_type is not signed, and the received sign's case does not matter.
    expect(epayVerify({ ...signed, sign_type: "RSA" }, KEY)).toBe(true);
    expect(epayVerify({ ...signed, sign: md5.toUpperCase() }, KEY)).toBe(true);
  });

  it.each(NOTIFICATIONS)("%s: any change is refused", (_, params, md5) => {
    const signed = { ...params, sign: md5, sign_type: "MD5" };
    expect(epayVerify({ ...signed, money: "500.00" }, KEY)).toBe(false);
    expect(epayVerify({ ...signed, pid: "9999" }, KEY)).toBe(false);
    expect(epayVerify({ ...signed, extra: "x" }, KEY)).toBe(false);
    expect(epayVerify(signed, `${KEY}x`)).toBe(false);
    expect(epayVerify({ ...signed, sign: "" }, KEY)).toBe(false);
    expect(epayVerify({ ...signed, sign: `${md5}00` }, KEY)).toBe(false);
    const { sign: _sign, ...unsigned } = signed;
    expect(epayVerify(unsigned, KEY)).toBe(false);
  });

  it("epaySigned adds sign and sign_type, and what it signs verifies", () => {
    const signed = epaySigned(NOTIFICATIONS[0]?.[1] as Record<string, string>, KEY);
    expect(signed).toMatchObject({ sign: "8648405f691bd75b9293ffc84973abc6", sign_type: "MD5" });
  });
});
