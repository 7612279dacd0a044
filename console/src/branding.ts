/**
 * The operator's brand on the page, from GET /api/status: the colour as `--brand` (set through
 * the CSSOM, which `style-src 'self'` allows, not as inline style). The shell (a-layout) shows
 * the name, logo and footer in its slots; each page's PageHead (components/ui.tsx) sets the
 * title, "<page> · <name>", so it is not set here (it would undo the page's after a language
 * switch, which reloads the status).
 */
import type { SiteStatus } from "./api";

export function applyBranding(status: SiteStatus): void {
  const root = document.documentElement.style;
  if (status.theme_color) root.setProperty("--brand", status.theme_color);
  else root.removeProperty("--brand");
}
