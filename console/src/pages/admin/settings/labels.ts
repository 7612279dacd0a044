import { type Key, t } from "../../../i18n";

/**
 * The name of each section of GET /api/site/sections (shared/site/registry.ts) as its tab shows
 * it, and a label for each field of its admin view ("section.field", the API's snake_case names;
 * a secret by its name without `_set`). test/unit/console-settings-labels.test.ts fails when the
 * server has a section or field missing here. The generic form hides `branding.logo_version`
 * (set by the logo upload), so it has no label.
 */
export const SECTION_LABELS: Record<string, Key> = {
  branding: "section_branding",
  content: "section_content",
  registration: "section_registration",
  trial: "section_trial",
  turnstile: "section_turnstile",
  payments: "section_payments",
  "payments.stripe": "section_stripe",
  "payments.epay": "section_epay",
  checkin: "section_checkin",
  invite: "section_invite",
  registration_limits: "section_registration_limits",
  "oauth.github": "section_oauth_github",
  "oauth.linuxdo": "section_oauth_linuxdo",
  "oauth.oidc": "section_oauth_oidc",
  mail: "section_mail",
};

export const FIELD_LABELS: Record<string, Key> = {
  "branding.name": "field_branding_name",
  "branding.color": "field_branding_color",
  "branding.footer": "field_branding_footer",
  "branding.image_origins": "field_branding_image_origins",
  "content.home_page": "field_content_home_page",
  "registration.mode": "field_registration_mode",
  "trial.new_user_quota": "field_trial_new_user_quota",
  "trial.verification": "field_trial_verification",
  "turnstile.site_key": "field_turnstile_site_key",
  "turnstile.secret": "field_turnstile_secret",
  "payments.amounts": "field_payments_amounts",
  "payments.min": "field_payments_min",
  "payments.max": "field_payments_max",
  "payments.units_per": "field_payments_units_per",
  "payments.stripe.enabled": "field_enabled",
  "payments.stripe.currency": "field_currency",
  "payments.stripe.methods": "field_stripe_methods",
  "payments.stripe.secret_key": "field_stripe_secret_key",
  "payments.stripe.webhook_secret": "field_stripe_webhook_secret",
  "payments.stripe.webhook_url": "field_stripe_webhook_url",
  "payments.epay.enabled": "field_enabled",
  "payments.epay.gateway": "field_epay_gateway",
  "payments.epay.pid": "field_epay_pid",
  "payments.epay.types": "field_epay_types",
  "payments.epay.currency": "field_currency",
  "payments.epay.key": "field_epay_key",
  "payments.epay.notify_url": "field_epay_notify_url",
  "checkin.enabled": "growth_checkin_enabled",
  "checkin.min_units": "growth_min_units",
  "checkin.max_units": "growth_max_units",
  "checkin.timezone": "growth_timezone",
  "checkin.requires": "growth_requires",
  "checkin.turnstile": "field_checkin_turnstile",
  "invite.enabled": "growth_invite_enabled",
  "invite.inviter_units": "growth_inviter_units",
  "invite.invitee_units": "growth_invitee_units",
  "invite.min_paid_minor": "growth_min_paid_minor",
  "invite.max_per_month": "growth_max_per_month",
  "registration_limits.address_limit": "field_limits_address_limit",
  "registration_limits.network_limit": "field_limits_network_limit",
  "registration_limits.site_limit": "field_limits_site_limit",
  "registration_limits.window_seconds": "field_limits_window_seconds",
  "registration_limits.per_address_per_day": "field_limits_per_address_per_day",
  "oauth.github.enabled": "field_enabled",
  "oauth.github.client_id": "field_client_id",
  "oauth.github.client_secret": "field_client_secret",
  "oauth.linuxdo.enabled": "field_enabled",
  "oauth.linuxdo.client_id": "field_client_id",
  "oauth.linuxdo.min_trust_level": "field_linuxdo_min_trust_level",
  "oauth.linuxdo.client_secret": "field_client_secret",
  "oauth.oidc.enabled": "field_enabled",
  "oauth.oidc.issuer": "field_oidc_issuer",
  "oauth.oidc.client_id": "field_client_id",
  "oauth.oidc.label": "field_oidc_label",
  "oauth.oidc.client_secret": "field_client_secret",
  "mail.verification": "field_mail_verification",
};

/** A section or field's API name as words ("registration_limits" → "registration limits"). */
function words(name: string): string {
  return name.replace(/_/g, " ");
}

/** A section's tab: its label, else (a section newer than this console) its API name as words. */
export function sectionLabel(section: string): string {
  const key = SECTION_LABELS[section];
  return key ? t(key) : words(section);
}

/** A field's label in its section, else (a field newer than this console) its name as words. */
export function fieldLabel(section: string, field: string): string {
  const key = FIELD_LABELS[`${section}.${field}`];
  return key ? t(key) : words(field);
}
