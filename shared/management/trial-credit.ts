import { TURNSTILE_TOKEN_MAX, verifyTurnstile } from "../auth/turnstile";
import { InvalidRequest, Unavailable } from "../errors";
import type { Call } from "../http/route";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import type { Site } from "../site/registry";
import { trial } from "../site/sections/trial";
import { turnstile } from "../site/sections/turnstile";
import type { TrialOffer, UserProfile } from "../store/users";
import { field } from "./envelope";

/**
 * The site's free trial quota (`new_user_quota`) and what earns it (`trial_verification`):
 *
 * - `approval`, the default: the account is made with the offer pending; an admin's approval
 *   grants it (POST /api/user/{id}/approve). A burst of sign-ups gets nothing until someone
 *   looks at them.
 * - `turnstile`: registering needs a Cloudflare Turnstile token that siteverify accepts; the
 *   quota is granted at once.
 * - `none`: granted at once, to anyone who can register.
 *
 * - `email`: granted once the account's e-mail address is verified — at sign-up with its code,
 *   or later in Settings (management/verification.ts).
 */
export interface TrialDecision {
  /** Fields the new profile carries: the offer, pending until granted. */
  profile: Pick<UserProfile, "trial">;
  /** Grants the offer now, when the site's check is already passed; else nothing. */
  grant(userId: string): Promise<void>;
}

/** The widget's action: a token solved for another form of the site is refused. */
export const TURNSTILE_ACTION = "register";

/**
 * Decides, before the account is made, what trial credit it gets; with Turnstile on, checks
 * the registration's token first (and refuses the registration when it fails).
 */
export async function decideTrialCredit(
  call: Call<unknown>,
  site: Site,
  body: Record<string, unknown>,
  account: { emailVerified?: boolean } = {},
): Promise<TrialDecision> {
  if (site.of(trial).verification === "turnstile") await passTurnstile(call, body);
  return trialOffer(call.services, site, call.request.id, {
    checked: true,
    emailVerified: account.emailVerified === true,
  });
}

/**
 * The offer itself, by the site's rule. `checked`: the registration passed the site's
 * Turnstile check (an OAuth sign-up has no widget to solve, so under `turnstile` its offer
 * waits for an admin's approval, as under `approval`).
 */
export function trialOffer(
  services: Services,
  site: Site,
  requestId: string,
  account: { checked: boolean; emailVerified: boolean },
): TrialDecision {
  const { newUserQuota, verification } = site.of(trial);
  if (newUserQuota <= 0) return { profile: {}, grant: async () => {} };
  const offer: TrialOffer = { units: newUserQuota, state: "pending" };
  // `email` (stream e-mail): at once for an address proven at sign-up, else when one is
  // proven later in Settings (management/verification.ts setEmail).
  const now =
    verification === "email"
      ? account.emailVerified
      : verification === "none" || (verification === "turnstile" && account.checked);
  return {
    profile: { trial: offer },
    grant: async (userId) => {
      if (now) await grantTrialCredit(services, userId, offer, userId, requestId);
    },
  };
}

/**
 * Grants a pending trial offer: exactly once, however often or concurrently it is asked (the
 * top-up's reference is the account's, `signup:<id>`, so a second one is a duplicate).
 */
export async function grantTrialCredit(
  services: Services,
  userId: string,
  offer: TrialOffer,
  by: string,
  requestId: string,
): Promise<"applied" | "duplicate"> {
  if (offer.state === "granted") return "duplicate";
  const outcome = await services.ledger.topUp(userId, {
    reference: `signup:${userId}`,
    bucket: "free",
    units: offer.units,
    by,
    requestId,
  });
  // After the top-up: a grant that stops between the two stays pending, and granting it
  // again finds the top-up done (a duplicate) and only records it. (The ledger remembers a
  // reference for 7 days after folding its grant: a grant left half-way longer than that and
  // approved only then would be added twice. Nothing else is.)
  await services.users.markTrialGranted(userId, services.clock.seconds());
  services.auth.forgetAll();
  return outcome;
}

/**
 * Turnstile's siteverify must accept the token, for this page's hostname and the register
 * widget. Nobody passes while siteverify cannot be reached: the check fails closed.
 */
export async function passTurnstile(
  call: Call<unknown>,
  body: Record<string, unknown>,
  /** The form's widget action (stream E: `checkin` too). */
  action = TURNSTILE_ACTION,
): Promise<void> {
  const { services, request } = call;
  const token = field.string(body, "turnstile_token", { max: TURNSTILE_TOKEN_MAX });
  if (!token)
    throw new InvalidRequest(msg("turnstile_required"), "turnstile_token", "turnstile_required");
  const secret =
    (await services.siteOptions.secret(turnstile, "secret")) ??
    services.settings.console.turnstileSecret;
  // The turnstile section refuses turning it on without one; the setting may have been taken
  // away since.
  if (!secret) throw new Unavailable(msg("turnstile_not_configured"), "turnstile_not_configured");
  const verdict = await verifyTurnstile(services.fetch, {
    url: services.settings.console.turnstileVerifyUrl,
    secret,
    token,
    remoteIp: request.sourceIp,
    hostname: pageHostname(request.headers),
    action,
  });
  if (verdict.outcome === "unavailable") {
    throw new Unavailable(msg("turnstile_unavailable"), "turnstile_unavailable", 5);
  }
  if (verdict.outcome === "refused") {
    throw new InvalidRequest(
      msg("turnstile_failed", { reasons: verdict.codes.join(", ") }),
      "turnstile_token",
      "turnstile_failed",
    );
  }
}

/**
 * The hostname of the page the widget ran on: the browser's Origin (behind CloudFront, Host is
 * the function URL's), else the Host the request was sent to.
 */
function pageHostname(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  for (const value of [headers.origin, headers.host && `http://${headers.host}`]) {
    if (!value || value === "null") continue;
    try {
      return new URL(value).hostname;
    } catch {
      // Not a URL: try the next.
    }
  }
  return undefined;
}
