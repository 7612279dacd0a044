import { get } from "../api";
import { getLang, t } from "../i18n";
import { MarkdownView } from "./markdown-view";
import { Card, useLoad } from "./ui";

interface Notice {
  id: string;
  title: string;
  body: string;
  level: "info" | "warning";
}

/** The operator's announcements shown now (GET /api/notice), on the dashboard; none, nothing. */
export function Announcements() {
  const lang = getLang();
  const notices = useLoad(async () => (await get<Notice[]>("/api/notice", { lang })).data, [lang]);
  if (!notices.data?.length) return null;
  return (
    <Card title={t("announcements_title")} testId="announcements">
      {notices.data.map((n) => (
        <article key={n.id} class={`announcement ${n.level}`}>
          <h3>{n.title}</h3>
          <MarkdownView text={n.body} />
        </article>
      ))}
    </Card>
  );
}
