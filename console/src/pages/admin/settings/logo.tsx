import { useState } from "preact/hooks";
import { del, put } from "../../../api";
import { Card, ErrorText, Field, Notice, useAction } from "../../../components/ui";
import { t } from "../../../i18n";
import { loadSiteStatus, siteStatus } from "../../../site-status";

/**
 * The logo (PUT /api/site/logo, the file's raw bytes: PNG, JPEG or WebP, ≤ 100 KB; the server
 * checks what it is by its bytes) and its removal; the top bar shows it once saved.
 */
export function LogoUpload(props: { onSaved: () => void }) {
  const status = siteStatus.use();
  const action = useAction();
  const [notice, setNotice] = useState("");
  const done = async () => {
    setNotice(t("saved"));
    await loadSiteStatus();
    props.onSaved();
  };
  return (
    <Card class="narrow" testId="logo-upload">
      {status?.logo && <img class="brand-logo" src={status.logo} alt="" />}
      <Field label={t("settings_logo")} hint={t("settings_logo_hint")}>
        <input
          type="file"
          accept="image/png,image/jpeg,image/webp"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (!file) return;
            setNotice("");
            action.run(async () => {
              await put("/api/site/logo", file);
              await done();
            });
          }}
        />
      </Field>
      {status?.logo && (
        <button
          type="button"
          disabled={action.busy}
          onClick={() =>
            action.run(async () => {
              await del("/api/site/logo");
              await done();
            })
          }
        >
          {t("settings_secret_clear")}
        </button>
      )}
      <ErrorText error={action.error} />
      <Notice text={notice} />
    </Card>
  );
}
