import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { get, type User } from "../api";
import { getLang, type Key, LANGS, type Lang, onLangChange, setLang, t } from "../i18n";
import { go, href } from "../router";
import { ADMIN_ROUTES, USER_ROUTES } from "../routes";
import { displayName, signedOut } from "../session";
import { loadSiteStatus, siteName, siteStatus } from "../site-status";
import { MarkdownView } from "./markdown-view";

type NavItem = { path: string; nav: Key };

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
  signedOut();
  go("/login");
}

/** `onPick` runs on any link, the current page's too (whose click changes no route). */
function NavList(props: { items: readonly NavItem[]; path: string; onPick: () => void }) {
  return (
    <ul>
      {props.items.map(({ path, nav }) => {
        const current = props.path === path || props.path.startsWith(`${path}/`);
        return (
          <li key={path}>
            <a href={href(path)} aria-current={current ? "page" : undefined} onClick={props.onPick}>
              {t(nav)}
            </a>
          </li>
        );
      })}
    </ul>
  );
}

/** The operator's name and logo (GET /api/status), else sluice's. */
function Brand(props: { home: string }) {
  const status = siteStatus.use();
  const name = siteName(status);
  return (
    <a class="brand" href={href(props.home)}>
      {status?.logo && <img class="brand-logo" src={status.logo} alt="" />}
      <span class="brand-name">{name}</span> <span class="brand-sub">{t("console")}</span>
    </a>
  );
}

function Footer() {
  const status = siteStatus.use();
  const text = status?.footer?.trim();
  return (
    <footer class="site-footer">
      {text && <MarkdownView text={text} />}
      {/* stream B (site): the public pages, reachable from every page */}
      <p class="footer-links">
        <a href={href("/models")}>{t("nav_models")}</a> ·{" "}
        <a href={href("/about")}>{t("nav_about")}</a>
      </p>
    </footer>
  );
}

/**
 * The frame of every page: header (menu button, brand, language, user, sign out), the menu
 * when signed in, the page and the site's footer. On a phone the menu is an overlay under the
 * top bar: it closes on any link in it (the current page's too), on Escape, on the scrim and on
 * a change of page; opening it moves the focus to its first link, closing it (Escape, scrim,
 * button) back to the button.
 */
export function Shell(props: { user: User | null; path: string; children: ComponentChildren }) {
  const { user, path } = props;
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const nav = useRef<HTMLElement>(null);
  // Read once at start by the app (app.tsx); again when the language changes (the footer).
  useEffect(() => onLangChange(() => loadSiteStatus()), []);
  useEffect(() => setOpen(false), [path]);
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  // Before the open menu is painted (a layout effect): an Escape pressed as soon as the menu
  // shows must close it. A plain effect ran a frame later, and such a key was lost.
  useLayoutEffect(() => {
    if (!open) return;
    nav.current?.querySelector<HTMLAnchorElement>("a")?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") close();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [open]);
  return (
    <div class={user ? "shell" : "shell shell-public"}>
      <header class="top">
        {user && (
          <button
            ref={button}
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
        <Brand home={user ? "/dashboard" : siteStatus.get()?.home_page ? "/" : "/login"} />
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
        <nav ref={nav} id="nav" class={open ? "nav open" : "nav"} aria-label={t("menu")}>
          <NavList items={USER_ROUTES} path={path} onPick={() => setOpen(false)} />
          {user.role === "admin" && (
            <>
              <h2 class="nav-head">{t("nav_admin")}</h2>
              <NavList items={ADMIN_ROUTES} path={path} onPick={() => setOpen(false)} />
            </>
          )}
        </nav>
      )}
      {open && <div class="scrim" aria-hidden="true" onClick={close} />}
      <main id="main">
        {props.children}
        <Footer />
      </main>
    </div>
  );
}
