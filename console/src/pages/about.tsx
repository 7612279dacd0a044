import { get } from "../api";
import { MarkdownView } from "../components/markdown-view";
import { Card, Loading, PageHead, useLoad } from "../components/ui";
import { getLang, t } from "../i18n";

/** The operator's about page (GET /api/about, Markdown), for visitors and users alike. */
export function About() {
  const lang = getLang();
  const page = useLoad(async () => (await get<string>("/api/about", { lang })).data, [lang]);
  return (
    <>
      <PageHead title={t("about_title")} />
      <Card testId="about-page">
        {page.data ? (
          <MarkdownView text={page.data} />
        ) : page.loading || page.error ? (
          <Loading loaded={page} />
        ) : (
          <p class="muted">{t("empty")}</p>
        )}
      </Card>
    </>
  );
}
