import type { VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { whenPasswordNeeded, whenSessionLost } from "./api";
import { Shell } from "./components/shell";
import { askPassword, ConfirmHost, PageHead, PasswordPromptHost } from "./components/ui";
import { onLangChange, t } from "./i18n";
import { About } from "./pages/about";
import { Dashboard } from "./pages/dashboard";
import { Home } from "./pages/home";
import { Keys } from "./pages/keys";
import { Login, Register } from "./pages/login";
import { Logs } from "./pages/logs";
import { Forgot, Reset } from "./pages/mail";
import { Models } from "./pages/models";
import { Settings } from "./pages/settings";
import { Topup } from "./pages/topup";
import { redirect, route } from "./router";
import { OPEN_PATHS, type PublicPath, type UserPath } from "./routes";
import { refreshUser, session, signedOut } from "./session";
import { loadSiteStatus, siteStatus } from "./site-status";

type AdminModule = typeof import("./pages/admin/index");

// Every page of the route tables (routes.ts) has its component here (a type error otherwise).
const PUBLIC: Record<PublicPath, () => VNode> = {
  "/login": () => <Login />,
  "/register": () => <Register />,
  // stream e-mail
  "/forgot": () => <Forgot />,
  "/reset": () => <Reset />,
  "/models": () => <Models />,
  "/about": () => <About />,
};

const PAGES: Record<UserPath, () => VNode> = {
  "/dashboard": () => <Dashboard />,
  "/keys": () => <Keys />,
  "/logs": () => <Logs />,
  "/topup": () => <Topup />,
  "/settings": () => <Settings />,
  "/models": () => <Models />,
};

whenPasswordNeeded(askPassword);

whenSessionLost(() => {
  if (session.get()) {
    signedOut();
    redirect("/login");
  }
});

export function App() {
  const { path } = route.use();
  const user = session.use();
  const [ready, setReady] = useState(false);
  const [admin, setAdmin] = useState<AdminModule | null>(null);
  const [, rerender] = useState(0);
  useEffect(() => onLangChange(() => rerender((n) => n + 1)), []);
  useEffect(() => {
    // The site's status says whether visitors land on a home page (`/`).
    Promise.allSettled([refreshUser(), loadSiteStatus()]).then(() => setReady(true));
  }, []);
  const isAdminPath = path.startsWith("/admin/");
  useEffect(() => {
    if (isAdminPath && user?.role === "admin" && !admin)
      import("./pages/admin/index").then((m) => setAdmin(() => m));
  }, [isAdminPath, user, admin]);

  const homePage = siteStatus.use()?.home_page === true;
  const publicPage =
    (PUBLIC as Record<string, (() => VNode) | undefined>)[path] ??
    (path === "/" && homePage ? () => <Home /> : undefined);
  const target = !ready
    ? null
    : !user
      ? publicPage
        ? null
        : "/login"
      : (publicPage && !OPEN_PATHS.has(path)) || path === "/"
        ? "/dashboard"
        : null;
  useEffect(() => {
    if (target) redirect(target, path);
  }, [target, path]);
  if (!ready || target) return <p class="boot muted">{t("loading")}</p>;

  let page: VNode | null;
  if (!user) page = publicPage?.() ?? null;
  else if (isAdminPath) {
    if (user.role !== "admin") page = <NotFound />;
    else page = admin ? admin.adminPage(path) : <p class="muted">{t("loading")}</p>;
  }
  // Payments (stream c-pay): a provider's return lands on /topup/orders/<id>, the top-up page.
  else {
    const pages = PAGES as Record<string, (() => VNode) | undefined>;
    page = (
      pages[path] ??
      (OPEN_PATHS.has(path) ? publicPage : undefined) ??
      (path.startsWith("/topup/orders/") ? pages["/topup"] : undefined)
    )?.() ?? <NotFound />;
  }
  return (
    <>
      <Shell user={user} path={path}>
        {page ?? <NotFound />}
      </Shell>
      <ConfirmHost />
      <PasswordPromptHost />
    </>
  );
}

export function NotFound() {
  return (
    <>
      <PageHead title={t("not_found")} />
      <p>
        <a href="#/dashboard">{t("nav_dashboard")}</a>
      </p>
    </>
  );
}
