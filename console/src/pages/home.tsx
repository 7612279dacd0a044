import { get } from "../api";
import { MarkdownView } from "../components/markdown-view";
import { Loading, PageHead, useLoad } from "../components/ui";
import { getLang, t } from "../i18n";
import { href } from "../router";
import { siteName, siteStatus } from "../site-status";

/**
 * `/` for visitors when the operator turned the home page on: their Markdown (GET
 * /api/home_page_content), or, while they have written none, a plain welcome; under either,
 * the ways in (a visitor on a home page has no menu, and the operator's text may link none).
 */
export function Home() {
  const lang = getLang();
  const status = siteStatus.use();
  const page = useLoad(
    async () => (await get<string>("/api/home_page_content", { lang })).data,
    [lang],
  );
  const open = status?.registration !== "closed";
  const waysIn = (
    <p class="hero-actions">
      <a class="button" href={href("/login")}>
        {t("home_sign_in")}
      </a>
      {open && (
        <a class="button secondary" href={href("/register")}>
          {t("home_register")}
        </a>
      )}
      <a href={href("/models")}>{t("home_models")}</a>
    </p>
  );
  return (
    <>
      <PageHead title={siteName(status)} />
      {page.data ? (
        <>
          <MarkdownView text={page.data} class="card" testId="home-page" />
          <section class="card hero">{waysIn}</section>
        </>
      ) : page.loading || page.error ? (
        <Loading loaded={page} />
      ) : (
        <section class="card hero" data-testid="home-page">
          <p>{t("home_tagline")}</p>
          {waysIn}
        </section>
      )}
    </>
  );
}
