import { createHash } from "node:crypto";
import {
  type Balances,
  BUCKETS,
  type Bucket,
  type BucketBase,
  balancesOf,
  type Grant,
} from "./buckets";
import { HOLDS_INDEX } from "./keys";
import type { Item } from "./table";

/**
 * How an account's and a limited key's attributes read and write (see store/accounts.ts for
 * what each attribute is): hold records, grants, buckets, and the holds index's keys.
 */

/** One outstanding hold, as its record says. */
export interface HoldRecord {
  /** From the request id: see holdIdFor. */
  id: string;
  /** Unix milliseconds when it was taken (the call's log line is keyed by it). */
  start: number;
  units: number;
  /** The first 8 characters of the key's id (account records only). */
  keyTag?: string;
  model?: string;
  /** An account's hold counted as a call in flight under the user's limits (cn). */
  counted?: boolean;
}

/** A user's account, as read. */
export interface Account {
  available: number;
  used: number;
  requests: number;
  balances: Balances;
  holds: HoldRecord[];
}

/** A limited key's allowance, as read. */
export interface KeyAllowance {
  remainQuota: number;
  held: number;
  holds: HoldRecord[];
}
/**
 * The hold id a request's `attempt` at a hold gets: 16 characters of its id (64 bits or more
 * of randomness), and from the second attempt on its number, so that no attempt can mistake
 * an earlier one's record (which may have landed unanswered) for its own.
 */
export function holdIdFor(requestId: string, attempt = 1): string {
  const id = requestId.replace(/^req_/, "").replaceAll("-", "").slice(0, 16);
  return attempt === 1 ? id : `${id}-${attempt}`;
}

export function readAccount(item: Item): Account {
  const used = num(item.uq);
  const grants = [...readGrants(item).values()].filter((grant) => grant.live);
  return {
    available: num(item.av),
    used,
    requests: num(item.rc),
    balances: balancesOf(readBase(item), grants, used),
    holds: readHolds(item),
  };
}

export function readKeyAllowance(item: Item): KeyAllowance {
  return { remainQuota: num(item.remainQuota), held: num(item.hq), holds: readHolds(item) };
}

export function readBase(item: Item): BucketBase {
  return { free: num(item.bf), bonus: num(item.bb), paid: num(item.bp), usedAt: num(item.bu) };
}

/**
 * A grant's value is "bucket.units.time.attempt" while live and "x.time.attempt" once folded
 * (older ones have no attempt). `mark` is what it becomes folded: the same for the attempt
 * that wrote it, so a retry of that very write knows it, and different for any other, even
 * one in the same millisecond.
 */
export function readGrants(item: Item): Map<string, Grant & { live: boolean; mark: string }> {
  const grants = new Map<string, Grant & { live: boolean; mark: string }>();
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith("g_") || typeof value !== "string") continue;
    const grant = readGrant(value, num(item[`gu_${name.slice(2)}`]));
    if (grant) grants.set(name.slice(2), grant);
  }
  return grants;
}

export function readGrant(
  value: string,
  at = 0,
): (Grant & { live: boolean; mark: string }) | undefined {
  const [bucket = "", ...rest] = value.split(".");
  if (bucket === "x") {
    const time = Number.parseInt(rest[0] ?? "0", 36);
    return { bucket: "paid", units: 0, at: 0, time, live: false, mark: value };
  }
  if (!(BUCKETS as readonly string[]).includes(bucket)) return undefined;
  const [units = "0", time = "0", ...attempt] = rest;
  return {
    bucket: bucket as Bucket,
    units: Number.parseInt(units, 36),
    at,
    time: Number.parseInt(time, 36),
    live: true,
    mark: ["x", time, ...attempt].join("."),
  };
}

export function readHolds(item: Item): HoldRecord[] {
  const holds: HoldRecord[] = [];
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith("h_") || typeof value !== "string") continue;
    const counted = value.startsWith(COUNTED);
    const [start = "0", units = "0", keyTag, ...model] = value
      .slice(counted ? COUNTED.length : 0)
      .split(".");
    holds.push({
      id: name.slice(2),
      start: Number.parseInt(start, 36),
      units: Number.parseInt(units, 36),
      ...(keyTag ? { keyTag } : {}),
      ...(model.length ? { model: model.join(".") } : {}),
      ...(counted ? { counted } : {}),
    });
  }
  return holds;
}

/**
 * Marks an account's counted hold. A sign to parseInt, so a record read by a version that
 * knows no marker still reads right.
 */
export const COUNTED = "+";

/** A hold's record: a few dozen bytes, since every in-flight hold adds it to a write's size. */
export function encodeHold(hold: HoldRecord, withCall: boolean, counted: boolean): string {
  const head = `${counted ? COUNTED : ""}${hold.start.toString(36)}.${hold.units.toString(36)}`;
  return withCall ? `${head}.${hold.keyTag ?? ""}.${(hold.model ?? "").slice(0, 40)}` : head;
}

/** A short, fixed-length name for a caller's reference (which may be long or odd). */
export function referenceId(ref: string): string {
  return createHash("sha256").update(ref).digest("base64url").slice(0, 16);
}

/** The holds index's shard an item is listed in, so its writes never meet a hot partition. */
export function shardOf(pk: string): number {
  return (createHash("sha256").update(pk).digest()[0] ?? 0) % HOLDS_INDEX.shards;
}

export function num(value: unknown): number {
  return typeof value === "number" ? value : 0;
}
