import type { VNode } from "preact";
import type { AdminPath } from "../../routes";
import { Keys } from "../keys";
import { Logs } from "../logs";
import { Channels } from "./channels";
import { Locks } from "./locks";
import { Orders } from "./orders";
import { PricingPage } from "./pricing";
import { Redemptions } from "./redemptions";
import { SiteSettings } from "./settings/index";
import { Users } from "./users";

// Every admin page of the route tables (routes.ts) has its component here (a type error otherwise).
const PAGES: Record<AdminPath, () => VNode> = {
  "/admin/users": () => <Users />,
  "/admin/channels": () => <Channels />,
  "/admin/pricing": () => <PricingPage />,
  "/admin/redemptions": () => <Redemptions />,
  "/admin/orders": () => <Orders />,
  "/admin/logs": () => <Logs key="admin" admin />,
  "/admin/settings": () => <SiteSettings />,
  "/admin/locks": () => <Locks />,
};

/** The admin pages, loaded only when an admin opens one. */
export function adminPage(path: string): VNode | null {
  const keys = /^\/admin\/users\/([^/]+)\/keys$/.exec(path);
  if (keys) return <Keys key={keys[1]} userId={decodeURIComponent(keys[1] ?? "")} />;
  return (PAGES as Record<string, (() => VNode) | undefined>)[path]?.() ?? null;
}
