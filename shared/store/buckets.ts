export type Bucket = "free" | "bonus" | "paid";
export const BUCKETS: readonly Bucket[] = ["free", "bonus", "paid"];

export interface Balances {
  free: number;
  bonus: number;
  paid: number;
  /** free + bonus + paid */
  total: number;
}

/** The buckets as they were when usage stood at `usedAt` (the last fold of top-ups). */
export interface BucketBase {
  free: number;
  bonus: number;
  paid: number;
  usedAt: number;
}

/** A top-up not folded into the base yet: `at` is the account's usage when it landed. */
export interface Grant {
  bucket: Bucket;
  units: number;
  at: number;
  /** Unix milliseconds, to order grants that landed at the same usage. */
  time: number;
}

/**
 * The user's remaining buckets. Spending draws free first, then bonus, then paid; paid is
 * what goes negative if a call ever cost more than its hold. A top-up only adds to its
 * bucket from the moment it landed: spending before it was drawn from what there was then.
 * So the base is walked forward grant by grant, in the order they landed (by the usage each
 * recorded atomically as it landed), drawing the spending in between, and then the spending
 * since the last grant. Concurrent top-ups therefore never need to read or retry: each adds
 * its own grant, and the order is the one DynamoDB applied them in.
 */
export function balancesOf(base: BucketBase, grants: readonly Grant[], used: number): Balances {
  const buckets = { free: base.free, bonus: base.bonus, paid: base.paid };
  let at = base.usedAt;
  for (const grant of [...grants].sort(byLanding)) {
    spend(buckets, grant.at - at);
    at = Math.max(at, grant.at);
    buckets[grant.bucket] += grant.units;
  }
  spend(buckets, used - at);
  return { ...buckets, total: buckets.free + buckets.bonus + buckets.paid };
}

/** The base after every grant given, and the usage up to the last of them. */
export function fold(base: BucketBase, grants: readonly Grant[]): BucketBase {
  const last = [...grants].sort(byLanding).at(-1);
  if (!last) return base;
  const earlier = grants.filter((grant) => grant !== last);
  const before = balancesOf(base, earlier, last.at);
  const folded = { free: before.free, bonus: before.bonus, paid: before.paid, usedAt: last.at };
  folded[last.bucket] += last.units;
  return folded;
}

function byLanding(a: Grant, b: Grant): number {
  return a.at - b.at || a.time - b.time;
}

function spend(buckets: Record<Bucket, number>, amount: number): void {
  if (amount <= 0) return;
  const fromFree = Math.min(amount, Math.max(buckets.free, 0));
  const fromBonus = Math.min(amount - fromFree, Math.max(buckets.bonus, 0));
  buckets.free -= fromFree;
  buckets.bonus -= fromBonus;
  buckets.paid -= amount - fromFree - fromBonus;
}
