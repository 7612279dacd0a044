import { useState } from "preact/hooks";
import { get, put } from "../../../api";
import { MarkdownView } from "../../../components/markdown-view";
import {
  Card,
  ErrorText,
  Field,
  Loading,
  Notice,
  useAction,
  useLoad,
} from "../../../components/ui";
import { LANGS, type Lang, t } from "../../../i18n";

interface Content {
  lang: string;
  home: string;
  about: string;
  version: number;
}

/**
 * The home and about pages, Markdown per language (GET/PUT /api/site/content?lang=), each with
 * its preview rendered as visitors see it. Saved with the version read (409 when stale).
 */
export function ContentSettings() {
  const [lang, setLang] = useState<Lang>("en");
  const content = useLoad(
    async () => (await get<Content>("/api/site/content", { lang })).data,
    [lang],
  );
  return (
    <>
      <Field label={t("settings_content_lang")}>
        <select value={lang} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
          {LANGS.map((l) => (
            <option key={l.lang} value={l.lang}>
              {l.label}
            </option>
          ))}
        </select>
      </Field>
      <Loading loaded={content} />
      {content.data &&
        (["home", "about"] as const).map((page) => (
          <PageEditor
            key={`${lang}-${page}`}
            content={content.data as Content}
            page={page}
            onSaved={content.reload}
          />
        ))}
    </>
  );
}

function PageEditor(props: { content: Content; page: "home" | "about"; onSaved: () => void }) {
  const { content, page } = props;
  const [text, setText] = useState(content[page]);
  const action = useAction();
  const [notice, setNotice] = useState("");
  return (
    <Card title={t(page === "home" ? "settings_content_home" : "settings_content_about")}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setNotice("");
          action.run(async () => {
            await put(`/api/site/content?lang=${content.lang}`, {
              [page]: text,
              version: content.version,
            });
            setNotice(t("saved"));
            props.onSaved();
          });
        }}
      >
        <Field label={t("settings_content_markdown")}>
          <textarea rows={10} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </Field>
        <ErrorText error={action.error} />
        <Notice text={notice} />
        <button type="submit" class="primary" disabled={action.busy}>
          {t("save")}
        </button>
      </form>
      <h3>{t("settings_preview")}</h3>
      <MarkdownView text={text} class="preview" />
    </Card>
  );
}
