import { useState } from "preact/hooks";
import { get, put, type Registration } from "../../api";
import {
  Card,
  ErrorText,
  Field,
  formFields,
  Loading,
  Notice,
  PageHead,
  useAction,
  useLoad,
} from "../../components/ui";
import { type Key, t } from "../../i18n";
import { dollarsInput, parseDollars } from "../../money";

const MODES: [Registration, Key][] = [
  ["open", "registration_open"],
  ["invitation", "registration_invitation"],
  ["closed", "registration_closed"],
];

export function SiteSettings() {
  const options = useLoad(
    async () =>
      (await get<{ registration: Registration; new_user_quota: number }>("/api/option")).data,
    [],
  );
  const action = useAction();
  const [notice, setNotice] = useState("");
  const current = options.data;
  return (
    <>
      <PageHead title={t("nav_admin_settings")} />
      <Loading loaded={options} />
      {current && (
        <Card class="narrow">
          <form
            onSubmit={(e) => {
              const f = formFields(e);
              const units = parseDollars(f.new_user_quota ?? "");
              if (units === null) return action.setError(t("invalid_dollars"));
              setNotice("");
              action.run(async () => {
                await put("/api/option", { registration: f.registration, new_user_quota: units });
                setNotice(t("saved"));
                options.reload();
              });
            }}
          >
            <Field label={t("registration_mode")}>
              <select name="registration">
                {MODES.map(([mode, key]) => (
                  <option key={mode} value={mode} selected={current.registration === mode}>
                    {t(key)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t("new_user_quota")} hint={t("new_user_quota_hint")}>
              <input
                name="new_user_quota"
                inputMode="decimal"
                required
                defaultValue={dollarsInput(current.new_user_quota)}
              />
            </Field>
            <ErrorText error={action.error} />
            <Notice text={notice} />
            <button type="submit" class="primary" disabled={action.busy}>
              {t("save")}
            </button>
          </form>
        </Card>
      )}
    </>
  );
}
