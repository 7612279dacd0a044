/**
 * The console's pages: their paths, the string key of each page's title (its `h1`), and the
 * test id of an element only that page has (its landmark, for the Chromium walk). The menu is
 * built from these tables, app.tsx maps each path to its page (a type error when one is
 * missing), and test/integration/console-walk.test.ts walks every page listed here, so a page
 * added here is walked without editing the test. This module touches no DOM.
 */
import type { Key } from "./i18n";

export interface RouteInfo {
  path: string;
  /** The page's `h1`. */
  title: Key;
  /** `data-testid` of an element of the page's own content. */
  landmark: string;
  /** The menu entry, when the page has one. */
  nav?: Key;
}

/**
 * Pages for visitors (signed in, they lead to the dashboard, except the pages in OPEN_PATHS).
 * `/` is the operator's home page when they turned it on (app.tsx), else it leads to sign-in.
 */
export const PUBLIC_ROUTES = [
  { path: "/login", title: "login_title", landmark: "login-form" },
  { path: "/register", title: "register_title", landmark: "register-form" },
  // stream e-mail
  { path: "/forgot", title: "forgot_title", landmark: "forgot-form" },
  { path: "/reset", title: "reset_title", landmark: "reset-form" },
  // stream B (site): also open to signed-in users (app.tsx)
  { path: "/models", title: "models_title", landmark: "models-list" },
  { path: "/about", title: "about_title", landmark: "about-page" },
] as const satisfies readonly RouteInfo[];

/** Pages of a signed-in user, in menu order. */
export const USER_ROUTES = [
  { path: "/dashboard", title: "dashboard_title", landmark: "balance", nav: "nav_dashboard" },
  { path: "/keys", title: "keys_title", landmark: "keys-table", nav: "nav_keys" },
  { path: "/logs", title: "logs_title", landmark: "log-table", nav: "nav_logs" },
  { path: "/topup", title: "topup_title", landmark: "redeem-form", nav: "nav_topup" },
  { path: "/settings", title: "settings_title", landmark: "password-form", nav: "nav_settings" },
  // stream B (site)
  { path: "/models", title: "models_title", landmark: "models-list", nav: "nav_models" },
] as const satisfies readonly RouteInfo[];

/** An admin's pages (loaded lazily: pages/admin/index.tsx), in menu order. */
export const ADMIN_ROUTES = [
  {
    path: "/admin/users",
    title: "nav_admin_users",
    landmark: "users-table",
    nav: "nav_admin_users",
  },
  {
    path: "/admin/channels",
    title: "nav_admin_channels",
    landmark: "channels-table",
    nav: "nav_admin_channels",
  },
  {
    path: "/admin/pricing",
    title: "nav_admin_pricing",
    landmark: "pricing-table",
    nav: "nav_admin_pricing",
  },
  {
    path: "/admin/redemptions",
    title: "nav_admin_redemptions",
    landmark: "redemptions-table",
    nav: "nav_admin_redemptions",
  },
  // The admin's orders (issue 22, orders)
  {
    path: "/admin/orders",
    title: "nav_admin_orders",
    landmark: "orders-table",
    nav: "nav_admin_orders",
  },
  { path: "/admin/logs", title: "admin_logs_title", landmark: "log-table", nav: "nav_admin_logs" },
  {
    path: "/admin/settings",
    title: "nav_admin_settings",
    landmark: "site-settings-form",
    nav: "nav_admin_settings",
  },
  { path: "/admin/locks", title: "nav_admin_locks", landmark: "locks", nav: "nav_admin_locks" },
] as const satisfies readonly RouteInfo[];

/** Public pages a signed-in user sees too (the models page is also in their menu). */
export const OPEN_PATHS: ReadonlySet<string> = new Set(["/models", "/about"]);

export type PublicPath = (typeof PUBLIC_ROUTES)[number]["path"];
export type UserPath = (typeof USER_ROUTES)[number]["path"];
export type AdminPath = (typeof ADMIN_ROUTES)[number]["path"];
