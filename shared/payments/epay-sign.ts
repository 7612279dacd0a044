import { createHash, timingSafeEqual } from "node:crypto";

/**
 * EPay V1's MD5 signature (易支付, as the Rainbow EPay demo and go-epay's `util.go` make it):
 * every parameter but `sign` and `sign_type`, empty values left out, keys sorted by UTF-16
 * code units (byte order for the ASCII keys EPay has: never `localeCompare`, whose order
 * depends on the locale), joined as `k=v&…` with the values raw (not URL-encoded), the
 * merchant key appended with nothing between, MD5 as lower-case hex.
 */
export function epaySigningString(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .filter((key) => key !== "sign" && key !== "sign_type" && params[key] !== "")
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((key) => `${key}=${params[key]}`)
    .join("&");
}

export function epaySign(params: Readonly<Record<string, string>>, key: string): string {
  return createHash("md5")
    .update(epaySigningString(params) + key, "utf8")
    .digest("hex");
}

/** The parameters with their `sign` and `sign_type=MD5`, as a gateway sends or takes them. */
export function epaySigned(
  params: Readonly<Record<string, string>>,
  key: string,
): Record<string, string> {
  return { ...params, sign: epaySign(params, key), sign_type: "MD5" };
}

/** Whether `params.sign` is the merchant's signature of them, compared in constant time. */
export function epayVerify(params: Readonly<Record<string, string>>, key: string): boolean {
  const received = Buffer.from((params.sign ?? "").toLowerCase(), "utf8");
  const expected = Buffer.from(epaySign(params, key), "utf8");
  return received.length === expected.length && timingSafeEqual(received, expected);
}
