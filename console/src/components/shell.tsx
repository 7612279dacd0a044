import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get, type User } from "../api";
import { getLang, type Key, LANGS, type Lang, setLang, t } from "../i18n";
import { go, href } from "../router";
import { displayName, session } from "../session";

const USER_NAV: [string, Key][] = [
  ["/dashboard", "nav_dashboard"],
  ["/keys", "nav_keys"],
  ["/logs", "nav_logs"],
  ["/topup", "nav_topup"],
  ["/settings", "nav_settings"],
];

const ADMIN_NAV: [string, Key][] = [
  ["/admin/users", "nav_admin_users"],
  ["/admin/channels", "nav_admin_channels"],
  ["/admin/pricing", "nav_admin_pricing"],
  ["/admin/redemptions", "nav_admin_redemptions"],
  ["/admin/logs", "nav_admin_logs"],
  ["/admin/settings", "nav_admin_settings"],
  ["/admin/locks", "nav_admin_locks"],
];

export function LangSwitch() {
  return (
    <label class="lang">
      <span class="sr-only">{t("language")}</span>
      <select
        value={getLang()}
        onChange={(e) => setLang(e.currentTarget.value as Lang)}
        aria-label={t("language")}
      >
        {LANGS.map((l) => (
          <option key={l.lang} value={l.lang} lang={l.lang === "zh" ? "zh-CN" : "en"}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}

async function logout() {
  try {
    await get("/api/user/logout");
  } catch {
    // Signed out here either way.
  }
  session.set(null);
  go("/login");
}

function NavList(props: { items: [string, Key][]; path: string }) {
  return (
    <ul>
      {props.items.map(([path, key]) => {
        const current = props.path === path || props.path.startsWith(`${path}/`);
        return (
          <li key={path}>
            <a href={href(path)} aria-current={current ? "page" : undefined}>
              {t(key)}
            </a>
          </li>
        );
      })}
    </ul>
  );
}

/** The frame of every page: header (language, user, sign out) and, signed in, the menu. */
export function Shell(props: { user: User | null; path: string; children: ComponentChildren }) {
  const { user, path } = props;
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [path]);
  return (
    <div class={user ? "shell" : "shell shell-public"}>
      <header class="top">
        {user && (
          <button
            type="button"
            class="menu-button"
            aria-expanded={open}
            aria-controls="nav"
            onClick={() => setOpen(!open)}
          >
            <span aria-hidden="true">☰</span>
            <span class="sr-only">{t("menu")}</span>
          </button>
        )}
        <a class="brand" href={href(user ? "/dashboard" : "/login")}>
          sluice <span class="brand-sub">{t("console")}</span>
        </a>
        <div class="top-right">
          <LangSwitch />
          {user && <span class="who">{displayName(user)}</span>}
          {user && (
            <button type="button" class="link" onClick={logout}>
              {t("logout")}
            </button>
          )}
        </div>
      </header>
      {user && (
        <nav id="nav" class={open ? "nav open" : "nav"} aria-label={t("menu")}>
          <NavList items={USER_NAV} path={path} />
          {user.role === "admin" && (
            <>
              <h2 class="nav-head">{t("nav_admin")}</h2>
              <NavList items={ADMIN_NAV} path={path} />
            </>
          )}
        </nav>
      )}
      <main id="main">{props.children}</main>
    </div>
  );
}
