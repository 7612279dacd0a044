import { useState } from "preact/hooks";
import { get } from "../../../api";
import { Loading, PageHead, useLoad } from "../../../components/ui";
import { t } from "../../../i18n";
import { ContentSettings } from "./content";
import { GeneralSettings } from "./general";
import { sectionLabel } from "./labels";
import { LogoUpload } from "./logo";
import { type SectionAnswer, SectionForm } from "./section-form";

/**
 * The site's settings, a tab per section of GET /api/site/sections (every stream's: payments,
 * sign-in, mail, growth, …), each a generic form; "general" is the registration and trial form
 * of /api/option, "content" the Markdown pages.
 */
export function SiteSettings() {
  const list = useLoad(
    async () =>
      (
        await get<{ version: number; sections: Record<string, Record<string, unknown>> }>(
          "/api/site/sections",
        )
      ).data,
    [],
  );
  const [tab, setTab] = useState("general");
  const names = Object.keys(list.data?.sections ?? {});
  const tabs = ["general", "content", ...names.filter((n) => n !== "content")];
  const section: SectionAnswer | undefined =
    list.data?.sections[tab] !== undefined
      ? {
          name: tab,
          version: list.data.version,
          fields: shownFields(list.data.sections[tab] ?? {}),
        }
      : undefined;
  return (
    <>
      <PageHead title={t("nav_admin_settings")} />
      <div class="tabs" role="tablist" aria-label={t("nav_admin_settings")}>
        {tabs.map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={tab === name}
            class={tab === name ? "tab current" : "tab"}
            onClick={() => setTab(name)}
          >
            {name === "general" ? t("settings_tab_general") : sectionLabel(name)}
          </button>
        ))}
      </div>
      <Loading loaded={list} />
      {tab === "general" ? (
        <GeneralSettings />
      ) : tab === "content" ? (
        <ContentSettings />
      ) : section ? (
        <>
          {tab === "branding" && <LogoUpload onSaved={list.reload} />}
          <SectionForm section={section} onSaved={list.reload} />
        </>
      ) : null}
    </>
  );
}

/** The fields the generic form edits: the logo's version is set by its upload (logo.tsx). */
function shownFields(fields: Record<string, unknown>): Record<string, unknown> {
  const { logo_version: _byUpload, ...rest } = fields;
  return rest;
}
