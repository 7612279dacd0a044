import { isIPv4, isIPv6 } from "node:net";

/**
 * The address attempts are counted by: an IPv4 address as it is, an IPv6 address by its /64
 * (one subscriber's line gets a whole /64, so counting single IPv6 addresses would give each
 * attacker billions of budgets). Anything else (no address) is counted as itself.
 */
export function addressBucket(ip: string | undefined): string {
  if (!ip) return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped && isIPv4(mapped[1] as string)) return mapped[1] as string;
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip.slice(0, 64);
  return bucketOf64(ip);
}

/**
 * The /48 an IPv6 address is in (what a provider hands one site, or one customer: 65,536 /64s),
 * counted beside its /64 so that one allocation does not give 65,536 budgets; undefined for
 * an IPv4 address (mapped ones too) and anything else, which are counted as they are.
 */
export function networkBucket(ip: string | undefined): string | undefined {
  // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is counted as the IPv4 address it is.
  if (!ip || !isIPv6(ip) || isIPv4(addressBucket(ip))) return undefined;
  return `${expandIPv6(ip).slice(0, 3).join(":")}::/48`;
}

const bucketOf64 = (ip: string) => `${expandIPv6(ip).slice(0, 4).join(":")}::/64`;

/** The eight groups of an IPv6 address, without leading zeros (an IPv4 tail becomes two). */
function expandIPv6(ip: string): string[] {
  let text = ip.toLowerCase().replace(/%.*$/, "");
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}
