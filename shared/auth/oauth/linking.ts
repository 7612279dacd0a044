import { Conflict, Forbidden } from "../../errors";
import type { TrialDecision } from "../../management/trial-credit";
import { msg } from "../../messages/codes";
import type { Services } from "../../services";
import type { Site } from "../../site/registry";
import { registration } from "../../site/sections/registration";
import { registrationLimits } from "../../site/sections/registration-limits";
import { EmailTaken, newUserProfile, UsernameTaken } from "../../store/users";
import { newId } from "../secrets";
import type { ProviderIdentity } from "./oauth2";
import type { OAuthState } from "./state-cookie";

/** What a callback's identity came to: the user to sign in, or the user it was linked to. */
export interface SignInOutcome {
  userId: string;
  how: "signed_in" | "linked" | "linked_by_email" | "registered";
}

type Deps = Pick<
  Services,
  "identities" | "emails" | "users" | "siteOptions" | "attempts" | "clock"
>;

/** The call's own: where it came from, and the site's trial offer for a new account. */
export interface SignInRequest {
  sourceIp?: string;
  /** The offer for an account made with (or without) a verified address. */
  trialOffer(site: Site, emailVerified: boolean): TrialDecision;
}

/**
 * Decides whom an outside identity signs in (docs/design/open-for-business.md §5.2), in order:
 * the user it is linked to; for `intent=link`, the signed-in user who started it (an identity
 * linked to someone else is refused); the owner of the *verified* address the provider vouched
 * for (GitHub's primary verified, OIDC's email_verified; LinuxDO sends none); a new account when
 * registration is open; else a refusal. Every link is a conditional write: of a burst of
 * callbacks for one identity, it ends linked to one user.
 */
export async function resolveSignIn(
  deps: Deps,
  identity: ProviderIdentity,
  state: Pick<OAuthState, "intent" | "userId" | "sessionVersion">,
  request: SignInRequest,
): Promise<SignInOutcome> {
  const linked = await deps.identities.userOf(identity.provider, identity.subject);
  if (state.intent === "link") {
    const userId = state.userId as string;
    if (linked && linked !== userId)
      throw new Conflict(msg("identity_taken", { provider: identity.provider }));
    // Conditional on the session version the link was started at: a password change that
    // lands after the callback's check (management/oauth.ts) still stops it.
    await link(deps, userId, identity, state.sessionVersion ?? 0);
    return { userId, how: "linked" };
  }
  if (linked) return { userId: linked, how: "signed_in" };
  const owner = identity.verifiedEmail
    ? await deps.emails.owner(identity.verifiedEmail)
    : undefined;
  if (owner) {
    await link(deps, owner, identity);
    return { userId: owner, how: "linked_by_email" };
  }
  const mode = (await deps.siteOptions.get()).of(registration).mode;
  if (mode === "closed") throw new Forbidden(msg("oauth_registration_closed"));
  if (mode === "invitation") throw new Forbidden(msg("oauth_invitation_required"));
  return { userId: await register(deps, identity, request), how: "registered" };
}

async function link(
  deps: Deps,
  userId: string,
  identity: ProviderIdentity,
  ifSessionVersion?: number,
): Promise<void> {
  const outcome = await deps.identities.link(
    userId,
    {
      provider: identity.provider,
      subject: identity.subject,
      login: identity.login,
      at: deps.clock.seconds(),
    },
    ifSessionVersion,
  );
  if (outcome === "stale") throw new Forbidden(msg("link_sign_in_again"));
  if (outcome === "taken" || outcome === "provider_linked")
    throw new Conflict(msg("identity_taken", { provider: identity.provider }));
}

/**
 * A new account for the identity, counted as a registration (per address, and the site's
 * budget), with no password (it signs in through the provider, or sets one by a reset link to
 * its verified address), its username from the provider's login (a suffix when taken), the
 * provider's verified address as its own, and the site's trial offer for such an account. The identity is linked before anything else is
 * kept: of two callbacks at once for one new identity, the loser's account is not made.
 */
async function register(
  deps: Deps,
  identity: ProviderIdentity,
  request: SignInRequest,
): Promise<string> {
  // The site's own limits (its registration_limits section), as the sign-up form's.
  const site = await deps.siteOptions.get();
  const limits = site.of(registrationLimits);
  await deps.attempts.registration(request.sourceIp, undefined, limits);
  const budget = await deps.attempts.siteRegistration(undefined, limits);
  const id = newId("user_", 16);
  const outcome = await deps.identities.link(id, {
    provider: identity.provider,
    subject: identity.subject,
    login: identity.login,
    at: deps.clock.seconds(),
  });
  if (outcome !== "linked") {
    await budget.giveBack();
    const winner = await deps.identities.userOf(identity.provider, identity.subject);
    if (winner) return winner;
    throw new Conflict(msg("identity_taken", { provider: identity.provider }));
  }
  const base = usernameFrom(identity.login);
  // The provider's verified address is the account's, verified (reset links and notices go to
  // it), claimed in the same write as the account; one another account took meanwhile is left.
  let email = identity.verifiedEmail;
  let trial = request.trialOffer(site, email !== undefined);
  for (let attempt = 0; ; attempt++) {
    const username = attempt === 0 ? base : `${base.slice(0, 24)}-${newId("", 6).toLowerCase()}`;
    try {
      await deps.users.create(
        newUserProfile(
          {
            id,
            username,
            name: identity.login.slice(0, 64),
            ...(email ? { email, emailVerified: true } : {}),
            ...trial.profile,
          },
          deps.clock.seconds(),
        ),
      );
      break;
    } catch (err) {
      if (err instanceof EmailTaken && email) {
        email = undefined;
        trial = request.trialOffer(site, false);
        continue;
      }
      if (err instanceof UsernameTaken && attempt < 4) continue;
      // No account: the identity must not stay linked to a user who does not exist.
      await deps.identities.unlink(id, identity.provider).catch(() => {});
      await budget.giveBack();
      throw err;
    }
  }
  await trial.grant(id);
  return id;
}

/** A username sluice accepts (3 to 32 of letters, digits, `_ . -`) from a provider's login. */
function usernameFrom(login: string): string {
  const cleaned = login.replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 32);
  return cleaned.length >= 3 ? cleaned : `user-${cleaned}${newId("", 4).toLowerCase()}`;
}
