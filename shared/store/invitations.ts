import { randomBytes } from "node:crypto";
import { inviteCodeKey, inviteCounterKey, TTL, userKey } from "./keys";
import { Schedule, type ScheduledWork } from "./schedule";
import { ConditionFailed, type Table } from "./table";

/** How long after its claim the janitor pays an invitation reward that stopped half-way. */
export const REWARD_FINISH_AFTER_SECONDS = 120;

/**
 * The reward an invitee's first qualifying paid order earns, kept on the invitee's profile
 * (`inviteReward`): `claimed` (absent before: the once-guard), then `paid` once credited;
 * `capped` when the inviter had had the month's rewards already (nothing is paid, ever).
 */
export interface InviteReward {
  state: "claimed" | "paid" | "capped";
  inviterId: string;
  /** The order that earned it. */
  orderId: string;
  /** What is credited, fixed when claimed (an option changed meanwhile changes nothing). */
  inviterUnits: number;
  inviteeUnits: number;
  /** When it was claimed (unix seconds); its month (UTC) is the one counted against the cap. */
  at: number;
  /** When the janitor pays it if it is still `claimed` (unix seconds). */
  due: number;
}

/** What an inviter's dashboard shows. */
export interface InviteTotals {
  signups: number;
  /** Invitees whose reward was paid. */
  paid: number;
  /** Units credited to the inviter by them. */
  earned: number;
}

/** The janitor's entry for a claimed reward (store/schedule.ts). */
export const rewardWork = (inviteeId: string, due: number): ScheduledWork => ({
  due,
  kind: "invite.reward",
  id: inviteeId,
});

const TOTAL = "TOTAL";
/** RFC 4648 base32: no 0/1/8/9, so a code read aloud or typed is not mistaken. */
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const CODE_SHAPE = /^[A-Z2-7]{8}$/;

/** An invitation code: 8 base32 characters (40 random bits). */
function newCode(): string {
  const bytes = randomBytes(5);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let code = "";
  for (let i = 7; i >= 0; i--) code += BASE32[Number((bits >> BigInt(i * 5)) & 31n)];
  return code;
}

/** A code as typed (any case, spaces around), or undefined when it cannot be one. */
export function normalInviteCode(text: string): string | undefined {
  const code = text.trim().toUpperCase();
  return CODE_SHAPE.test(code) ? code : undefined;
}

const monthOf = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 7);

/**
 * Invitation codes (`INVITE#<code>`), the invitation fields of the profiles (`affCode`,
 * `invitedBy`, `inviteReward`, `firstPaidAt`) and each inviter's counters
 * (`USER#<id>#INVITES`: the month's rewards, for the cap, and the totals).
 */
export class Invitations {
  constructor(private readonly table: Table) {}

  /**
   * The user's code, made on first ask: the code's item and the profile's `affCode` written
   * together, so of two first asks at once one code is kept and the other never written.
   */
  async codeOf(userId: string, current: string | undefined): Promise<string> {
    if (current) return current;
    for (let attempt = 1; ; attempt++) {
      const code = newCode();
      try {
        await this.table.transact([
          { put: { ...inviteCodeKey(code), userId }, condition: "attribute_not_exists(pk)" },
          {
            key: userKey(userId),
            update: "SET affCode = :code",
            condition: "attribute_exists(pk) AND attribute_not_exists(affCode)",
            values: { ":code": code },
          },
        ]);
        return code;
      } catch (err) {
        if (!(err instanceof ConditionFailed)) throw err;
        // The profile has one (another ask won): that is the code.
        if (err.reasons[1] === "ConditionalCheckFailed") {
          const profile = await this.table.get<{ affCode?: string }>(userKey(userId), true);
          if (profile?.affCode) return profile.affCode;
          throw err;
        }
        // Another user's code (one in 2^40 per code made): draw again.
        if (attempt === 3) throw err;
      }
    }
  }

  /** The user whose code it is. */
  async inviterOf(code: string): Promise<string | undefined> {
    return (await this.table.get<{ userId: string }>(inviteCodeKey(code)))?.userId;
  }

  /** Counts a sign-up by the inviter's code (what their dashboard shows; not a guard). */
  async countSignup(inviterId: string): Promise<void> {
    await this.table.update(inviteCounterKey(inviterId, TOTAL), {
      update: "ADD signups :one",
      values: { ":one": 1 },
    });
  }

  async totals(inviterId: string): Promise<InviteTotals> {
    const item = await this.table.get<Partial<InviteTotals>>(inviteCounterKey(inviterId, TOTAL));
    return { signups: item?.signups ?? 0, paid: item?.paid ?? 0, earned: item?.earned ?? 0 };
  }

  /** Records the user's first credited paid order, once (it may gate the check-in). */
  async markFirstPaid(userId: string, at: number): Promise<void> {
    try {
      await this.table.update(userKey(userId), {
        update: "SET firstPaidAt = :at",
        condition: "attribute_exists(pk) AND attribute_not_exists(firstPaidAt)",
        values: { ":at": at },
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
    }
  }

  /**
   * Claims the invitee's reward: their profile's `inviteReward` (absent: not claimed yet), one
   * of the inviter's rewards of the month (refused at `maxPerMonth`) and the janitor's entry,
   * all or nothing. "capped" (and recorded so) when the month's rewards were all taken;
   * "taken" when the reward was claimed (or capped) already: read it.
   */
  async claimReward(
    inviteeId: string,
    reward: Omit<InviteReward, "state" | "due">,
    maxPerMonth: number,
  ): Promise<{ outcome: "claimed"; reward: InviteReward } | { outcome: "capped" | "taken" }> {
    const claimed: InviteReward = {
      ...reward,
      state: "claimed",
      due: reward.at + REWARD_FINISH_AFTER_SECONDS,
    };
    const unclaimed = {
      condition: "attribute_not_exists(inviteReward) AND invitedBy = :inviter",
      values: { ":reward": claimed, ":inviter": reward.inviterId },
    };
    try {
      await this.table.transact([
        { key: userKey(inviteeId), update: "SET inviteReward = :reward", ...unclaimed },
        {
          key: inviteCounterKey(reward.inviterId, monthOf(reward.at)),
          update: "SET #ttl = :ttl ADD rewards :one",
          condition: "attribute_not_exists(rewards) OR rewards < :cap",
          names: { "#ttl": "ttl" },
          values: { ":ttl": TTL.checkin(reward.at), ":one": 1, ":cap": maxPerMonth },
        },
        Schedule.entry(rewardWork(inviteeId, claimed.due)),
      ]);
      return { outcome: "claimed", reward: claimed };
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      if (err.reasons[0] === "ConditionalCheckFailed") return { outcome: "taken" };
    }
    // The month's rewards are all taken: this one is capped, for good.
    try {
      await this.table.update(userKey(inviteeId), {
        update: "SET inviteReward = :reward",
        ...unclaimed,
        values: { ...unclaimed.values, ":reward": { ...claimed, state: "capped" } },
      });
      return { outcome: "capped" };
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      return { outcome: "taken" };
    }
  }

  /**
   * Records a claimed reward as paid, adds it to the inviter's totals and takes it off the
   * janitor's agenda, together; false when it was recorded paid already.
   */
  async markPaid(inviteeId: string, reward: InviteReward, at: number): Promise<boolean> {
    try {
      await this.table.transact([
        {
          key: userKey(inviteeId),
          update: "SET inviteReward.#state = :paid, inviteReward.paidAt = :at",
          condition: "inviteReward.#state = :claimed",
          names: { "#state": "state" },
          values: { ":paid": "paid", ":claimed": "claimed", ":at": at },
        },
        {
          key: inviteCounterKey(reward.inviterId, TOTAL),
          update: "ADD paid :one, earned :units",
          values: { ":one": 1, ":units": reward.inviterUnits },
        },
        Schedule.removal(rewardWork(inviteeId, reward.due)),
      ]);
      return true;
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      return false;
    }
  }
}
