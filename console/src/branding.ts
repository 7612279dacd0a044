/**
 * The operator's brand on the page, from GET /api/status: the colour as `--brand` (set through
 * the CSSOM, which `style-src 'self'` allows, not as inline style) and the name as the title.
 * The shell (a-layout) shows the name, logo and footer in its slots.
 */
import type { SiteStatus } from "./api";

export function applyBranding(status: SiteStatus): void {
  const root = document.documentElement.style;
  if (status.theme_color) root.setProperty("--brand", status.theme_color);
  else root.removeProperty("--brand");
  if (status.system_name) document.title = status.system_name;
}
