import type { VNode } from "preact";
import { Keys } from "../keys";
import { Logs } from "../logs";
import { Channels } from "./channels";
import { Locks } from "./locks";
import { PricingPage } from "./pricing";
import { Redemptions } from "./redemptions";
import { SiteSettings } from "./settings";
import { Users } from "./users";

/** The admin pages, loaded only when an admin opens one. */
export function adminPage(path: string): VNode | null {
  const keys = /^\/admin\/users\/([^/]+)\/keys$/.exec(path);
  if (keys) return <Keys key={keys[1]} userId={decodeURIComponent(keys[1] ?? "")} />;
  switch (path) {
    case "/admin/users":
      return <Users />;
    case "/admin/channels":
      return <Channels />;
    case "/admin/pricing":
      return <PricingPage />;
    case "/admin/redemptions":
      return <Redemptions />;
    case "/admin/logs":
      return <Logs key="admin" admin />;
    case "/admin/settings":
      return <SiteSettings />;
    case "/admin/locks":
      return <Locks />;
    default:
      return null;
  }
}
