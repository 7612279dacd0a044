import { unitsToDollars } from "../billing/units";
import { InvalidRequest } from "../errors";
import { userRoute } from "../http/route";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import { invite as inviteSection } from "../site/sections/invite";
import { normalInviteCode } from "../store/invitations";
import { ok } from "./envelope";

/**
 * Invitations (docs/design/open-for-business.md §9.2): each user's code, given at
 * registration as `aff_code` (one-api's name); the reward is paid by growth/first-paid.ts
 * once the invitee pays.
 */

/** GET /api/user/aff (one-api's route): the user's invitation code, made on first ask. */
export const getAffCode = userRoute("GET", "/api/user/aff", async (call) => {
  const { user } = call.principal;
  return ok(await call.services.invitations.codeOf(user.id, user.affCode));
});

/**
 * GET /api/user/invitations: what the dashboard's invitation card shows: the code, how many
 * signed up with it, how many of them paid, what that earned, and what the site offers.
 */
export const getInvitations = userRoute("GET", "/api/user/invitations", async (call) => {
  const { services, principal } = call;
  const invite = (await services.siteOptions.get()).of(inviteSection);
  const code = await services.invitations.codeOf(principal.user.id, principal.user.affCode);
  const totals = await services.invitations.totals(principal.user.id);
  return ok({
    enabled: invite.enabled,
    aff_code: code,
    signups: totals.signups,
    paid: totals.paid,
    earned: totals.earned,
    earned_dollar: unitsToDollars(totals.earned),
    inviter_units: invite.inviterUnits,
    inviter_dollar: unitsToDollars(invite.inviterUnits),
    invitee_units: invite.inviteeUnits,
    invitee_dollar: unitsToDollars(invite.inviteeUnits),
    min_paid_minor: invite.minPaidMinor,
  });
});

/**
 * The user an `aff_code` names (registration's hook, management/sign-up.ts); a code that
 * names nobody is refused, so a mistyped link is said, not swallowed (peers' rule 19).
 */
export async function inviterOf(services: Services, text: string): Promise<string> {
  const code = normalInviteCode(text);
  const inviter = code && (await services.invitations.inviterOf(code));
  if (!inviter) throw new InvalidRequest(msg("invite_code_unknown"), "aff_code");
  return inviter;
}

/** Counts an invited sign-up for the inviter's card; a lost count costs nothing but the number. */
export async function countInvitedSignUp(services: Services, inviterId: string): Promise<void> {
  await services.invitations.countSignup(inviterId).catch((err: unknown) => {
    services.log.warn("invited sign-up not counted", { inviterId, error: String(err) });
  });
}
