import type { SiteOptions } from "../store/site-options";
import type { SiteValuesOf } from "./section";
import { branding } from "./sections/branding";
import { checkin } from "./sections/checkin";
import { content } from "./sections/content";
import { epay } from "./sections/epay";
import { invite } from "./sections/invite";
import { mail } from "./sections/mail";
import { oauthGithub } from "./sections/oauth-github";
import { oauthLinuxdo } from "./sections/oauth-linuxdo";
import { oauthOidc } from "./sections/oauth-oidc";
import { payments } from "./sections/payments";
import { registration } from "./sections/registration";
import { registrationLimits } from "./sections/registration-limits";
import { stripe } from "./sections/stripe";
import { trial } from "./sections/trial";
import { turnstile } from "./sections/turnstile";

/**
 * Every section of the site's settings (shared/site/README.md): one line each, under the
 * stream that owns it. Order is the order of the admin's tabs and of `/api/status`.
 */
export const SITE_SECTIONS = [
  // b-site
  branding,
  content,
  registration,
  trial,
  turnstile,
  // c-pay
  payments,
  stripe,
  epay,
  // e-growth
  checkin,
  invite,
  registrationLimits,
  // d-signin
  oauthGithub,
  oauthLinuxdo,
  oauthOidc,
  // e-mail
  mail,
] as const;

export type SiteSections = typeof SITE_SECTIONS;
export type SiteValues = SiteValuesOf<SiteSections>;

/** The site's settings as read (shared/store/site-options.ts). */
export type Site = SiteOptions<SiteSections>;
