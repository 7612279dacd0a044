import { hashPassword } from "../auth/passwords";
import { newId } from "../auth/secrets";
import { Conflict } from "../errors";
import type { Call } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { mailLanguage } from "../mail/templates";
import { msg } from "../messages/codes";
import type { Site } from "../site/registry";
import { registrationLimits } from "../site/sections/registration-limits";
import { redemptionId } from "../store/redemptions";
import { EmailTaken, newUserProfile, UsernameTaken } from "../store/users";
import { invalid, ok } from "./envelope";
import { countInvitedSignUp, inviterOf } from "./invitations";
import { isRedemptionCode, redeemCode } from "./redemptions";
import { decideTrialCredit } from "./trial-credit";
import { emailTaken } from "./verification";

/** What a counted registration asked for (POST /api/user/register, checked by its route). */
export interface SignUpRequest {
  body: Record<string, unknown>;
  username: string;
  password: string;
  email: string | undefined;
  options: Site;
  code: string | undefined;
}

/**
 * Where the later sign-up work of issue 22 plugs in (docs/design/open-for-business.md). None is
 * called yet: each is wired into `createAccount` by the step that owns it.
 */
export interface SignUpHooks {
  /** §6.2 (E2): proves the e-mail (its code) before the account is made; true: verified. */
  verifyEmail?: (email: string) => Promise<boolean>;
  /** §5.2 (D2): an invitation code for a sign-up that has no body to carry one (OAuth). */
  invitation?: string;
  /** §9.2 (E6): the inviter's `aff_code`; the new profile records who invited it. */
  affCode?: string;
  /** §5.2 (D2): the provider's identity an OAuth sign-up is made for, linked to the account. */
  identity?: SignUpIdentity;
}

/** An identity as the profile will list it (§5.2: `identities: {<provider>: {subject, login}}`). */
export interface SignUpIdentity {
  provider: string;
  subject: string;
  login: string;
}

/** The account a counted registration asked for, its trial credit and its invitation. */
export async function createAccount(
  call: Call<undefined>,
  request: SignUpRequest,
  hooks: SignUpHooks = {},
): Promise<GatewayResponse> {
  const { services } = call;
  const { body, username, password, email, options, code } = request;
  // §9.2 (E6): an unknown code is refused before anything is written, never swallowed.
  const invitedBy = hooks.affCode ? await inviterOf(services, hooks.affCode) : undefined;
  // An address proven by its code (stream e-mail): the account is made only if it is.
  const verifyEmail = email && hooks.verifyEmail ? hooks.verifyEmail : undefined;
  const trial = await decideTrialCredit(call, options, body, {
    emailVerified: verifyEmail !== undefined,
  });
  const profile = newUserProfile(
    {
      id: newId("user_", 16),
      username,
      name: username,
      ...(email ? { email } : {}),
      ...(verifyEmail ? { emailVerified: true } : {}),
      ...(typeof body.lang === "string" ? { lang: mailLanguage(body.lang) } : {}),
      passwordHash: await hashPassword(password, services.settings.console.passwordCost),
      ...trial.profile,
      ...(invitedBy ? { invitedBy } : {}),
    },
    services.clock.seconds(),
  );
  const taken = () => new Conflict(msg("username_taken"));
  // A name taken already is refused before the site's budget is touched (a race for a free
  // one is settled by the create's condition, below).
  if (await services.users.findByUsername(username)) throw taken();
  const site = await services.attempts.siteRegistration(undefined, options.of(registrationLimits));
  let invitation: string | undefined;
  try {
    // By invitation, the code is taken first (of two sign-ups with one code, one wins), and
    // given back if the account is not made.
    if (options.values.registration.mode === "invitation" && code) {
      const used = isRedemptionCode(code)
        ? await services.redemptions.redeem(
            redemptionId(code),
            profile.id,
            services.clock.seconds(),
          )
        : "taken";
      if (used === "taken") throw invalid(msg("invitation_code_invalid"));
      invitation = used.id;
    }
    // Last before the write: a wrong code is counted against the code, not the site.
    if (verifyEmail && !(await verifyEmail(email as string)))
      throw invalid(msg("verification_code_invalid"));
    await services.users.create(profile);
  } catch (err) {
    await site.giveBack();
    if (invitation) await services.redemptions.release(invitation, profile.id);
    if (err instanceof UsernameTaken) throw taken();
    if (err instanceof EmailTaken) throw emailTaken();
    throw err;
  }
  await trial.grant(profile.id);
  if (invitedBy) await countInvitedSignUp(services, invitedBy);
  if (invitation) await redeemCode(services, profile.id, code as string, call.request.id);
  return ok({ id: profile.id, username: profile.username });
}
