import { get, type SiteStatus } from "./api";
import { applyBranding } from "./branding";
import { getLang } from "./i18n";
import { store } from "./store";

/**
 * The site's public status (GET /api/status): registration, Turnstile, and the operator's
 * branding (name, logo, footer) when the site has any. Read once at start and again when the
 * language changes (the footer is per language); until it arrives, and when a field is absent,
 * the shell shows sluice's own name and no logo or footer.
 */
export const siteStatus = store<SiteStatus | null>(null);

export async function loadSiteStatus(): Promise<void> {
  try {
    const status = (await get<SiteStatus>("/api/status", { lang: getLang() })).data;
    siteStatus.set(status);
    applyBranding(status);
  } catch {
    // Unreachable for now: the shell keeps the defaults, and a page that needs it says so.
  }
}

/** The site's name: the operator's, else "sluice". */
export function siteName(status: SiteStatus | null = siteStatus.get()): string {
  return status?.system_name?.trim() || "sluice";
}
