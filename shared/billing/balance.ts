import type { UserRecord } from "../store/users";

export type Bucket = "free" | "bonus" | "paid";
export const BUCKETS: readonly Bucket[] = ["free", "bonus", "paid"];

export interface Balances {
  free: number;
  bonus: number;
  paid: number;
  /** free + bonus + paid */
  total: number;
}

/**
 * The user's remaining buckets. Spending since the last top-up draws free first, then
 * bonus, then paid; paid is what goes negative if a call ever cost more than its hold.
 */
export function balancesOf(
  user: Pick<UserRecord, "freeBase" | "bonusBase" | "paidBase" | "usedAtBase" | "usedQuota">,
): Balances {
  const spent = user.usedQuota - user.usedAtBase;
  const fromFree = clamp(spent, 0, user.freeBase);
  const fromBonus = clamp(spent - fromFree, 0, user.bonusBase);
  const fromPaid = spent - fromFree - fromBonus;
  const free = user.freeBase - fromFree;
  const bonus = user.bonusBase - fromBonus;
  const paid = user.paidBase - fromPaid;
  return { free, bonus, paid, total: free + bonus + paid };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), Math.max(max, min));
}
