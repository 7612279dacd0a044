import { creditCheckin } from "../growth/checkin";
import { payReward } from "../growth/first-paid";
import type { Services } from "../services";
import { checkinOfWork } from "../store/checkins";
import type { ScheduledWork } from "../store/schedule";

/** The janitor's kinds of work that are growth's (stream E). */
export const GROWTH_WORK: readonly ScheduledWork["kind"][] = ["checkin.credit", "invite.reward"];

/**
 * Finishes a check-in or an invitation reward that was claimed and not finished (its process
 * stopped between the claim and the credit, or before marking it): credits it through the
 * same ledger reference, so one whose credit had landed is not credited again. Either is
 * then taken off the agenda. True when this credited something.
 */
export async function finishGrowthWork(services: Services, work: ScheduledWork): Promise<boolean> {
  if (work.kind === "checkin.credit") {
    const { userId, date } = checkinOfWork(work);
    const checkin = await services.checkins.get(userId, date);
    if (checkin?.state === "claimed")
      return (await creditCheckin(services, checkin, "janitor")) === "applied";
  } else {
    const reward = (await services.users.get(work.id, true))?.inviteReward;
    if (reward?.state === "claimed") return (await payReward(services, work.id, reward)) === "paid";
  }
  await services.schedule.done(work);
  return false;
}
