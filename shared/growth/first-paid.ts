import { StoreUnavailable } from "../errors";
import type { Services } from "../services";
import { invite as inviteSection } from "../site/sections/invite";
import type { InviteReward } from "../store/invitations";
import type { InviteOptions } from "./options";

/** A paid order that has just been credited to its user (shared/payments/credit.ts). */
export interface CreditedOrder {
  userId: string;
  orderId: string;
  /** What was paid, in minor units of `currency`. */
  amountMinor: number;
  currency: string;
}

export type InviteRewardOutcome =
  /** Invitations are off on this site. */
  | "off"
  /** The user was invited by nobody. */
  | "uninvited"
  /** The order is below `min_paid_minor`: a later, larger one may still earn the reward. */
  | "too_small"
  /** The inviter had had the month's rewards: this invitee earns none, ever. */
  | "capped"
  /** This call paid the reward (or finished paying one that had stopped half-way). */
  | "paid"
  /** The reward was paid (or capped) before. */
  | "done";

/**
 * Rewards the invitation after one of the invitee's paid orders was credited
 * (docs/design/open-for-business.md §9.2); the payments' crediting calls it once the order
 * is `credited`, and may call it again for the same order (a replay, the janitor): the reward
 * is paid once, by the invitee's first order of at least `min_paid_minor`, at most
 * `max_per_month` a month per inviter.
 *
 * On the once-pattern of payments: claimed on the invitee's profile (`inviteReward` absent →
 * `claimed`, with one of the inviter's monthly rewards and the janitor's entry, in one
 * transaction), credited through the ledger's `invite:<invitee>` (and
 * `invite-welcome:<invitee>`) references, then marked `paid`. A stop in between is finished
 * by the janitor (janitor/growth.ts) or the next call.
 */
export async function rewardInvitationAfterPaidOrder(
  services: Services,
  order: CreditedOrder,
  options?: InviteOptions,
): Promise<InviteRewardOutcome> {
  const invite = options ?? (await services.siteOptions.get()).of(inviteSection);
  const now = services.clock.seconds();
  const invitee = await services.users.get(order.userId, true);
  if (!invitee) return "uninvited";
  if (invitee.firstPaidAt === undefined) await services.invitations.markFirstPaid(invitee.id, now);
  if (!invite.enabled) return "off";
  if (!invitee.invitedBy) return "uninvited";
  if (invitee.inviteReward) return finishFound(services, invitee.id, invitee.inviteReward);
  if (order.amountMinor < invite.minPaidMinor) return "too_small";
  const claim = await services.invitations.claimReward(
    invitee.id,
    {
      inviterId: invitee.invitedBy,
      orderId: order.orderId,
      inviterUnits: invite.inviterUnits,
      inviteeUnits: invite.inviteeUnits,
      at: now,
    },
    invite.maxPerMonth,
  );
  if (claim.outcome === "claimed") return payReward(services, invitee.id, claim.reward);
  if (claim.outcome === "capped") return "capped";
  // Another call claimed it first (a second order credited at the same moment).
  const found = (await services.users.get(invitee.id, true))?.inviteReward;
  return found ? finishFound(services, invitee.id, found) : "done";
}

async function finishFound(
  services: Services,
  inviteeId: string,
  reward: InviteReward,
): Promise<InviteRewardOutcome> {
  return reward.state === "claimed" ? payReward(services, inviteeId, reward) : "done";
}

/**
 * Credits a claimed reward (to the inviter, and the invitee's welcome) and marks it paid.
 * "paid" only for the call whose inviter top-up landed; a racing one gets "done".
 */
export async function payReward(
  services: Services,
  inviteeId: string,
  reward: InviteReward,
): Promise<"paid" | "done"> {
  const requestId = `invite:${reward.orderId}`;
  const outcome = await services.ledger.topUp(reward.inviterId, {
    reference: `invite:${inviteeId}`,
    bucket: "bonus",
    units: reward.inviterUnits,
    by: inviteeId,
    requestId,
  });
  if (reward.inviteeUnits > 0)
    await services.ledger.topUp(inviteeId, {
      reference: `invite-welcome:${inviteeId}`,
      bucket: "bonus",
      units: reward.inviteeUnits,
      by: inviteeId,
      requestId,
    });
  // As for check-ins: once credited, a mark that fails is the janitor's to make again.
  try {
    await services.invitations.markPaid(inviteeId, reward, services.clock.seconds());
  } catch (err) {
    if (!(err instanceof StoreUnavailable)) throw err;
    services.log.warn("invitation reward credited, not marked: the janitor will", { inviteeId });
  }
  return outcome === "applied" ? "paid" : "done";
}
