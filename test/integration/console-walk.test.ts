/**
 * The Chromium walk: every page of the console's route tables (console/src/routes.ts), in both
 * languages, on a 1,280×800 desktop and a 390×844 phone, as a customer and as an admin (and
 * the public pages signed out). A page added to the tables is walked without editing this
 * file. Per page: its own `h1` is its title in that language, its landmark is visible, no
 * missing string (`⟦`), no raw message code, no internal reference on a customer's page; on
 * the phone nothing scrolls sideways, the `h1` is near the top, and the menu opens and closes
 * (a tap on the current page, Escape); on the desktop every table fits. A dark context checks
 * the colours follow the system, each form's deliberate server error is shown in words, and
 * every tab of the admin's settings names its section and fields in the page's language. Pages
 * change by hash (no reload), in eight long-lived contexts.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { en, type Key, zh } from "../../console/src/i18n";
import { ADMIN_ROUTES, PUBLIC_ROUTES, type RouteInfo, USER_ROUTES } from "../../console/src/routes";
import type { Message } from "../../shared/messages/codes";
import { isMessageCode, render } from "../../shared/messages/render";
import { channelKey } from "../../shared/store/keys";
import { BROWSER_FLOW_MS, connectBrowser } from "../fixtures/browser";
import { epayOrder } from "./payment-support";
import { admin, api, createFixtureChannel, openai, sluice, sluiceTable } from "./support";

type Lang = "en" | "zh";
const STRINGS: Record<Lang, Record<Key, string>> = { en, zh };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
type Viewport = typeof DESKTOP;
const ACTION_TIMEOUT_MS = 20_000;

/** What customers must never see (design brief §7.3): request ids, ledger references, user ids. */
const INTERNAL = /\b(req_[0-9a-f]{8}|signup:|redeem:|order:|user_[A-Za-z0-9]{16})/;
/** A message code or string key shown as it is (`insufficient_quota`, `log_details`). */
const RAW_WORDS = /\b[a-z]+(?:_[a-z]+)+\b/g;

const suffix = Math.random().toString(36).slice(2, 8);
const customer = { username: `walker.${suffix}`, password: `walk-${suffix}-pw`, id: "", token: "" };

let browser: Browser;
const contexts: BrowserContext[] = [];
/** What went wrong inside the pages: uncaught errors, CSP refusals. */
const problems: string[] = [];
/** Each language's strings the pages may show as they are (a model's name, a username). */
let allowedCodes: string[] = [];

/** Fresh addresses (TEST-NET-3) the stack counts requests as coming from, never 127.0.0.1. */
let nextAddress = 100 + Math.floor(Math.random() * 100);
function freshAddress(): string {
  return `203.0.113.${nextAddress++}`;
}
const fromAddress = (address: string) => ({
  "x-sluice-origin-verify": sluice.originSecret,
  "cloudfront-viewer-address": `${address}:443`,
});

/** Signs in over HTTP, as the sign-in form would; the session cookie for a context. */
async function sessionCookie(username: string, password: string) {
  const answer = await fetch(`${sluice.url}/api/user/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: sluice.url },
    body: JSON.stringify({ username, password }),
  });
  expect(answer.status).toBe(200);
  const cookies = answer.headers.getSetCookie().map((line) => {
    const [pair = ""] = line.split(";");
    const at = pair.indexOf("=");
    return { name: pair.slice(0, at), value: pair.slice(at + 1), url: sluice.url };
  });
  expect(cookies.length).toBeGreaterThan(0);
  return cookies;
}

async function open(lang: Lang, viewport: Viewport, colorScheme: "light" | "dark" = "light") {
  const context = await browser.newContext({
    baseURL: sluice.url,
    viewport,
    colorScheme,
    locale: lang === "zh" ? "zh-CN" : "en-US",
  });
  contexts.push(context);
  const page = await context.newPage();
  // Eight tabs load at once, beside the other test files: an action may wait this long (the
  // test's own limit is far above it, so a stuck one is named).
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.on("pageerror", (err) => problems.push(`${page.url()}: ${err.message}`));
  page.on("console", (message) => {
    // Refused API calls (a wrong password) are logged by the browser as failed loads.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource"))
      problems.push(`${page.url()}: ${message.text()}`);
  });
  return page;
}

interface Shown {
  h1: string;
  text: string;
  scrollWidth: number;
  innerWidth: number;
  h1Top: number;
  tables: { scroll: number; client: number; columns: string[] }[];
}

/**
 * Goes to a page by changing the hash (no reload), waits in the page until its `h1` is the
 * expected title and nothing is loading, and reads what the checks need, in one round trip.
 */
async function show(page: Page, route: RouteInfo, s: Record<Key, string>): Promise<Shown> {
  const args = { path: route.path, title: s[route.title], loading: s.loading, id: route.landmark };
  const read = `(${IN_PAGE})(${JSON.stringify(args)})`;
  let shown: Shown | false = false;
  // Polled from here: the console's CSP (no eval) refuses waitForFunction's own polling.
  await expect
    .poll(
      async () => {
        shown = await page.evaluate<Shown | false>(read);
        return shown !== false;
      },
      {
        message: `${route.path}: its h1 "${args.title}" and its landmark ${args.id}, loaded`,
        interval: 30,
        timeout: ACTION_TIMEOUT_MS,
      },
    )
    .toBe(true);
  return shown as unknown as Shown;
}

/**
 * Runs in the page (a string: the test project has no DOM types, and a compiled function may
 * call helpers the page lacks): false until the page is the one asked for and loaded.
 */
const IN_PAGE = `(args) => {
  if (location.hash !== "#" + args.path) location.hash = args.path;
  const main = document.querySelector("main");
  const h1 = main?.querySelector("h1");
  if (!main || h1?.textContent !== args.title) return false;
  const text = main.innerText;
  if (text.split("\\n").some((line) => line.trim() === args.loading)) return false;
  // A page's landmark may come with its data, after its title.
  const box = document.querySelector('[data-testid="' + args.id + '"]')?.getBoundingClientRect();
  if (!box || box.width === 0 || box.height === 0) return false;
  return {
    h1: h1.textContent,
    text,
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth,
    h1Top: h1.getBoundingClientRect().top,
    // A table's frame scrolls sideways only when its table does not fit.
    tables: [...main.querySelectorAll("table")].map((table) => {
      const frame = table.closest(".table-wrap") ?? table;
      const columns = [...table.querySelectorAll("thead th")].map(
        (th) => th.textContent + ": " + th.offsetWidth,
      );
      return { scroll: frame.scrollWidth, client: frame.clientWidth, columns };
    }),
  };
}`;

/** What one page must be, in one language on one screen. */
async function checkPage(
  page: Page,
  route: RouteInfo,
  lang: Lang,
  viewport: Viewport,
  forCustomer: boolean,
) {
  const s = STRINGS[lang];
  const where = `${lang} ${viewport === PHONE ? "phone" : "desktop"} ${route.path}`;
  const shown = await show(page, route, s);
  expect(shown.text, where).not.toContain("⟦");
  // A snake_case word is a code shown raw, unless the language's own strings say it (an API
  // parameter a hint names) or it is the data's (a model's name).
  const words = new Set(Object.values(s).flatMap((text) => text.match(RAW_WORDS) ?? []));
  const codes = (shown.text.match(RAW_WORDS) ?? []).filter(
    (code) => !words.has(code) && !allowedCodes.some((allowed) => allowed.includes(code)),
  );
  expect(codes, where).toEqual([]);
  if (forCustomer) expect(shown.text, where).not.toMatch(INTERNAL);
  expect(shown.scrollWidth, `${where}: the page scrolls sideways`).toBeLessThanOrEqual(
    shown.innerWidth,
  );
  if (viewport === PHONE) {
    expect(shown.h1Top, `${where}: h1's top`).toBeGreaterThanOrEqual(0);
    expect(shown.h1Top, `${where}: h1's top`).toBeLessThanOrEqual(120);
  } else {
    for (const table of shown.tables)
      expect(
        table.scroll,
        `${where}: a table scrolls sideways (${table.columns.join(", ")})`,
      ).toBeLessThanOrEqual(table.client);
  }
}

/** The phone menu: opens, closes on a tap on the current page, on Escape, on another page. */
async function checkMenu(page: Page, route: RouteInfo, lang: Lang) {
  const s = STRINGS[lang];
  const where = `${lang} phone ${route.path}: the menu`;
  const button = page.locator(".menu-button");
  const nav = page.locator("#nav");
  await button.click();
  await expect.poll(() => nav.isVisible(), { message: where }).toBe(true);
  expect(await button.getAttribute("aria-expanded")).toBe("true");
  // Focus is on the menu's first link.
  await expect
    .poll(() => page.evaluate<boolean>(`document.activeElement?.closest("#nav") !== null`))
    .toBe(true);
  await nav.locator('a[aria-current="page"]').click();
  await expect.poll(() => nav.isVisible(), { message: where }).toBe(false);
  expect(await button.getAttribute("aria-expanded")).toBe("false");
  await button.click();
  await expect.poll(() => nav.isVisible()).toBe(true);
  await page.keyboard.press("Escape");
  await expect.poll(() => nav.isVisible(), { message: where }).toBe(false);
  expect(
    await page.evaluate<boolean>(`document.activeElement?.classList.contains("menu-button")`),
  ).toBe(true);
  // The h1 is still the page's: closing changed nothing else.
  expect(await page.locator("main h1").textContent()).toBe(s[route.title]);
}

/** Walks a role's pages in one context; the phone checks the menu on each. */
async function walk(
  page: Page,
  routes: readonly RouteInfo[],
  lang: Lang,
  viewport: Viewport,
  forCustomer: boolean,
) {
  for (const route of routes) {
    await checkPage(page, route, lang, viewport, forCustomer);
    if (viewport === PHONE) await checkMenu(page, route, lang);
  }
}

/** The page's calls to /api/user/* count as coming from a fresh address of their own. */
async function fromFreshAddress(page: Page) {
  const headers = fromAddress(freshAddress());
  await page.route("**/api/user/**", (route) =>
    route.continue({ headers: { ...route.request().headers(), ...headers } }),
  );
}

/**
 * Submits a form, and checks it shows the server's refusal in the page's language: the
 * catalogue's words for its code and params (shared/messages), or its own sentence for a code
 * the catalogues do not have yet. Returns what the server answered.
 */
async function expectFormError(
  page: Page,
  lang: Lang,
  path: string,
  submit: () => Promise<void>,
): Promise<{ status: number; code?: string; message: string }> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(path) && r.request().method() === "POST"),
    submit(),
  ]);
  const body = await response.json();
  expect(body.success, path).toBe(false);
  const alert = page.locator("main [role=alert]");
  await alert.waitFor();
  const shown = (await alert.innerText()).trim();
  // Every /api refusal has a code in the catalogue (a code-less one would reach a Chinese
  // reader in English).
  expect(isMessageCode(body.code), `${path}: ${body.code}`).toBe(true);
  expect(shown, path).toBe(render(lang, { code: body.code, params: body.params ?? {} } as Message));
  if (lang === "zh") expect(shown, `${path}: worded in Chinese`).not.toBe(body.message);
  return { status: response.status(), code: body.code, message: body.message };
}

/** WCAG's contrast ratio of two `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (color: string) => {
    const [r = 0, g = 0, bl = 0] = (color.match(/[\d.]+/g) ?? []).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

interface Colours {
  bg: string;
  bodyColor: string;
  bodyBackground: string;
  cardColor: string;
  cardBackground: string;
  mutedColor: string;
}

const READ_COLOURS = `(() => {
  const root = getComputedStyle(document.documentElement);
  const card = document.querySelector("main .card:not(.stat-total)");
  const muted = document.querySelector("main .muted");
  return {
    bg: root.getPropertyValue("--bg").trim(),
    bodyColor: root.color,
    bodyBackground: root.backgroundColor,
    cardColor: getComputedStyle(card).color,
    cardBackground: getComputedStyle(card).backgroundColor,
    mutedColor: muted ? getComputedStyle(muted).color : root.color,
  };
})()`;

describe("the console walk", { timeout: BROWSER_FLOW_MS }, () => {
  let model: string;

  beforeEach(() => {
    onTestFailed(async () => {
      for (const context of contexts)
        for (const page of context.pages()) {
          const text = await page
            .locator("body")
            .innerText({ timeout: 2_000 })
            .catch((err: Error) => `(unreadable: ${err.message})`);
          console.log(`page ${page.url()}:\n${text.slice(0, 2_000)}`);
        }
    });
  });

  beforeAll(async () => {
    const [connected, channel] = await Promise.all([connectBrowser(), createFixtureChannel()]);
    browser = connected;
    model = channel.model;
    const user = await admin("POST", "/api/user", {
      username: customer.username,
      password: customer.password,
    });
    customer.id = user.id;
    customer.token = user.access_token;
    // A log with a call, an admin's top-up and a redemption: the log page has every kind of
    // line, and the redemption's code is used for the form's error below.
    await admin("POST", `/api/user/${customer.id}/topup`, { dollars: 5, bucket: "paid" });
    const key = await api(customer.token, "POST", "/api/token", { name: `walk-${suffix}` });
    await openai(key.body.data.key).chat.completions.create({
      model,
      messages: [{ role: "user", content: "hello" }],
    });
    // And a refused call (a model its key may not use): a refused line.
    const narrow = await api(customer.token, "POST", "/api/token", {
      name: `walk-narrow-${suffix}`,
      models: ["not-this-one"],
    });
    await expect(
      openai(narrow.body.data.key).chat.completions.create({
        model,
        messages: [{ role: "user", content: "hello" }],
      }),
    ).rejects.toMatchObject({ status: 404 });
    // A channel turned off with a long reason no space breaks (an upstream's error can be one
    // long word): the channels table must fit the screen whatever the reason, not only with the
    // reasons other test files happen to leave there.
    const off = await createFixtureChannel();
    await sluiceTable().update(channelKey(off.channelId), {
      update: "SET #status = :disabled, disabledReason = :reason, disabledAt = :now",
      names: { "#status": "status" },
      values: {
        ":disabled": "disabled",
        ":reason": `upstream said https://upstream.example/${"x".repeat(400)}`,
        ":now": Date.now(),
      },
    });
    // Orders: one credited, one awaiting payment (the top-up page's history, the admin's list).
    await epayOrder(customer.token, true);
    await epayOrder(customer.token, false);
    allowedCodes = [
      model,
      customer.username,
      `walk-${suffix}`,
      `walk-narrow-${suffix}`,
      sluice.adminUsername,
    ];
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
  });

  /** One language on one screen: signed out, then as the customer, and as the admin at once. */
  async function walkAll(lang: Lang, viewport: Viewport) {
    const [visitor, adminPage, customerCookies, adminCookies] = await Promise.all([
      open(lang, viewport),
      open(lang, viewport),
      sessionCookie(customer.username, customer.password),
      sessionCookie(sluice.adminUsername, sluice.adminPassword),
    ]);
    const asCustomer = async () => {
      // Signed out: the public pages (no menu there).
      await visitor.goto("/#/login");
      for (const route of PUBLIC_ROUTES) await checkPage(visitor, route, lang, viewport, true);
      // Then the customer's pages in the same tab, once signed in.
      await visitor.context().addCookies(customerCookies);
      await visitor.reload();
      await walk(visitor, USER_ROUTES, lang, viewport, true);
    };
    const asAdmin = async () => {
      await adminPage.context().addCookies(adminCookies);
      await adminPage.goto("/#/admin/users");
      await walk(adminPage, ADMIN_ROUTES, lang, viewport, false);
      expect(await adminPage.locator("html").getAttribute("lang")).toBe(
        lang === "zh" ? "zh-CN" : "en",
      );
    };
    await Promise.all([asCustomer(), asAdmin()]);
  }

  it("walks every page: zh and en, desktop and phone, signed out, as a customer and as an admin", async () => {
    await Promise.all(
      (["zh", "en"] as const).flatMap((lang) => [walkAll(lang, DESKTOP), walkAll(lang, PHONE)]),
    );
    expect(problems).toEqual([]);
  }, 120_000);

  it("the colours follow the system: dark has its own background, and text keeps 4.5:1", async () => {
    const cookies = await sessionCookie(customer.username, customer.password);
    const [light, dark] = await Promise.all([
      open("en", DESKTOP, "light"),
      open("en", DESKTOP, "dark"),
    ]);
    const read = async (page: Page) => {
      await page.context().addCookies(cookies);
      await page.goto("/#/dashboard");
      await show(page, USER_ROUTES[0], en);
      return page.evaluate<Colours>(READ_COLOURS);
    };
    const [day, night] = await Promise.all([read(light), read(dark)]);
    expect(night.bg).not.toBe(day.bg);
    for (const colours of [day, night]) {
      expect(contrast(colours.bodyColor, colours.bodyBackground)).toBeGreaterThanOrEqual(4.5);
      expect(contrast(colours.cardColor, colours.cardBackground)).toBeGreaterThanOrEqual(4.5);
      expect(contrast(colours.mutedColor, colours.cardBackground)).toBeGreaterThanOrEqual(4.5);
    }
    expect(problems).toEqual([]);
  });

  for (const lang of ["zh", "en"] as const)
    it(`${lang}: the admin's settings: every tab and field in ${lang}, the title kept on a language switch`, async () => {
      const s = STRINGS[lang];
      const known = new Set(Object.values(s));
      const page = await open(lang, DESKTOP);
      await page
        .context()
        .addCookies(await sessionCookie(sluice.adminUsername, sluice.adminPassword));
      await page.goto("/#/admin/settings");
      const tabs = page.getByRole("tab");
      // Past general and content, a tab per section of GET /api/site/sections.
      const sections = Object.keys((await admin("GET", "/api/site/sections")).sections);
      await expect.poll(() => tabs.count()).toBe(sections.length + 1);
      // Each tab's name and each label of its form is one of the language's strings, never a
      // section's or field's API name.
      for (const name of await tabs.allInnerTexts()) expect(known, name).toContain(name.trim());
      for (let i = 0; i < sections.length + 1; i++) {
        const tab = tabs.nth(i);
        await tab.click();
        await expect.poll(() => tab.getAttribute("aria-selected")).toBe("true");
        const form = page.locator("main").locator('[data-testid^="section-"]');
        // The generic form renders at once from the list already read (not general, content).
        if (i >= 2) await form.waitFor();
        const labels = await page
          .locator("main")
          .locator(".field-label, label.check")
          .allInnerTexts();
        for (const label of labels)
          expect(known, `${await tab.innerText()}: ${label}`).toContain(label.trim());
      }
      // Switching the language reloads /api/status: the title stays "<page> · <site>".
      const other = lang === "zh" ? en : zh;
      const status = page.waitForResponse((answer) => answer.url().includes("/api/status"));
      await page.getByLabel(s.language).selectOption(lang === "zh" ? "en" : "zh");
      await status;
      await expect.poll(() => page.locator("main h1").innerText()).toBe(other.nav_admin_settings);
      // Two frames for the status's handler to have run.
      await page.evaluate(
        "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))",
      );
      expect(await page.title()).toMatch(new RegExp(`^${other.nav_admin_settings} · .+`));
      expect(problems).toEqual([]);
    });

  for (const lang of ["zh", "en"] as const)
    it(`${lang}: the admin's orders: details on demand, a note added, the notes' cap refused in words`, async () => {
      const s = STRINGS[lang];
      const ref = await epayOrder(customer.token, true);
      // 19 notes: the page's note is the 20th, the one after it is refused.
      for (let i = 0; i < 19; i++)
        await admin("POST", `/api/payment/admin/orders/${ref}/note`, { text: `note ${i}` });
      const page = await open(lang, DESKTOP);
      await page
        .context()
        .addCookies(await sessionCookie(sluice.adminUsername, sluice.adminPassword));
      await page.goto("/#/admin/orders");
      await page.getByLabel(s.admin_orders_user).fill(customer.username);
      await page.getByRole("button", { name: s.search, exact: true }).click();
      const row = page.locator(`tr[data-order="${ref}"]`);
      await expect.poll(() => row.innerText()).toContain(customer.username);
      expect(await row.innerText()).toContain(s.order_state_credited);
      await row.getByRole("button", { name: s.admin_orders_details }).click();
      const details = page.getByTestId("order-details");
      await details.waitFor();
      const order = await admin("GET", `/api/payment/admin/orders/${ref}`);
      expect(order.provider_ref).toBeTruthy();
      const text = await details.innerText();
      expect(text).toContain(order.provider_ref);
      expect(text).toContain(s.order_event_credit);
      expect(text).toContain("note 18");
      const note = `walk ${lang} refund checked`;
      await page.getByLabel(s.admin_orders_note_text).fill(note);
      await page.getByRole("button", { name: s.admin_orders_note_add }).click();
      await expect.poll(() => details.innerText()).toContain(`${sluice.adminUsername}: ${note}`);
      await page.getByLabel(s.admin_orders_note_text).fill("one too many");
      const refused = await expectFormError(
        page,
        lang,
        `/api/payment/admin/orders/${ref}/note`,
        () => page.getByRole("button", { name: s.admin_orders_note_add }).click(),
      );
      expect(refused).toMatchObject({ status: 409, code: "order_notes_full" });
      expect((await admin("GET", `/api/payment/admin/orders/${ref}`)).notes).toHaveLength(20);
      expect(problems).toEqual([]);
    });

  it("zh: the usage log's cursor pages: next, previous, and the ends disabled", async () => {
    const s = STRINGS.zh;
    // A log of 26 lines: a full page of 25 and one more.
    const reader = { username: `pager.${suffix}`, password: `pager-${suffix}-pw` };
    const user = await admin("POST", "/api/user", reader);
    for (let i = 1; i <= 26; i++)
      await admin("POST", `/api/user/${user.id}/topup`, { dollars: i / 100, bucket: "paid" });
    const first = await api(user.access_token, "GET", "/api/log/self?size=25");
    const cursor = encodeURIComponent(first.body.next_cursor);
    const second = await api(user.access_token, "GET", `/api/log/self?size=25&cursor=${cursor}`);
    expect([first.body.data.length, second.body.data.length]).toEqual([25, 1]);

    const page = await open("zh", DESKTOP);
    await page.context().addCookies(await sessionCookie(reader.username, reader.password));
    await page.goto("/#/logs");
    const rows = page.getByTestId("log-table").locator("tbody tr");
    const pager = page.locator("nav.pager");
    const prev = pager.getByRole("button", { name: s.prev, exact: true });
    const next = pager.getByRole("button", { name: s.next, exact: true });
    await expect.poll(() => rows.count()).toBe(25);
    expect(await pager.innerText()).toContain(s.page_n.replace("{page}", "1"));
    expect(await prev.isDisabled()).toBe(true);
    await next.click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await pager.innerText()).toContain(s.page_n.replace("{page}", "2"));
    expect(await next.isDisabled()).toBe(true);
    await prev.click();
    await expect.poll(() => rows.count()).toBe(25);
    expect(await prev.isDisabled()).toBe(true);
    expect(problems).toEqual([]);
  });

  for (const lang of ["zh", "en"] as const)
    it(`${lang}: each form's server error is shown in ${lang}`, async () => {
      const s = STRINGS[lang];
      const [visitor, buyer] = await Promise.all([open(lang, DESKTOP), open(lang, DESKTOP)]);
      await Promise.all([fromFreshAddress(visitor), fromFreshAddress(buyer)]);

      // A wrong password.
      await visitor.goto("/#/login");
      const signIn = async (username: string, password: string) => {
        await visitor.getByLabel(s.username).fill(username);
        await visitor.getByLabel(s.password, { exact: true }).fill(password);
        await visitor.getByRole("button", { name: s.login_submit, exact: true }).click();
      };
      const wrong = await expectFormError(visitor, lang, "/api/user/login", () =>
        signIn(customer.username, "not the password"),
      );
      expect(wrong.status).toBe(401);

      // A sign-in throttled: a name with five failures (each from an address of its own),
      // then this page's try.
      const name = `nobody.${lang}.${suffix}`;
      for (let i = 0; i < 5; i++) {
        const answer = await fetch(`${sluice.url}/api/user/login`, {
          method: "POST",
          headers: { "content-type": "application/json", ...fromAddress(freshAddress()) },
          body: JSON.stringify({ username: name, password: "wrong" }),
        });
        expect(answer.status).toBe(401);
      }
      const throttled = await expectFormError(visitor, lang, "/api/user/login", () =>
        signIn(name, "wrong"),
      );
      expect(throttled).toMatchObject({ status: 429, code: "too_many_sign_ins" });

      // A username taken.
      await visitor.evaluate(`location.hash = "/register"`);
      await visitor.getByLabel(s.username).fill(customer.username);
      await visitor.getByLabel(s.password, { exact: true }).fill(customer.password);
      await visitor.getByLabel(s.password_confirm).fill(customer.password);
      const taken = await expectFormError(visitor, lang, "/api/user/register", () =>
        visitor.getByRole("button", { name: s.register_submit }).click(),
      );
      expect(taken.status).toBe(409);

      // A redemption code used already.
      const made = await admin("POST", "/api/redemption/", {
        name: `walk-${lang}-${suffix}`,
        count: 1,
        dollars: 1,
      });
      const code = made.codes[0] as string;
      expect((await api(customer.token, "POST", "/api/user/topup", { key: code })).status).toBe(
        200,
      );
      await buyer.context().addCookies(await sessionCookie(customer.username, customer.password));
      await buyer.goto("/#/topup");
      await buyer.getByLabel(s.topup_code).fill(code);
      const used = await expectFormError(buyer, lang, "/api/user/topup", () =>
        buyer.getByRole("button", { name: s.topup_submit }).click(),
      );
      expect(used.status).toBe(409);
      expect(problems).toEqual([]);
    });
});
