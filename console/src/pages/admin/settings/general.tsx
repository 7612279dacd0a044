import { useState } from "preact/hooks";
import {
  get,
  put,
  type Registration,
  type SiteOptions,
  type TrialVerification,
} from "../../../api";
import {
  Card,
  ErrorText,
  Field,
  formFields,
  Loading,
  Notice,
  useAction,
  useLoad,
} from "../../../components/ui";
import { type Key, t } from "../../../i18n";
import { dollarsInput, parseDollars } from "../../../money";

const MODES: [Registration, Key][] = [
  ["open", "registration_open"],
  ["invitation", "registration_invitation"],
  ["closed", "registration_closed"],
];

const TRIAL: [TrialVerification, Key][] = [
  ["approval", "trial_verification_approval"],
  ["turnstile", "trial_verification_turnstile"],
  ["none", "trial_verification_none"],
];

/**
 * Only the fields the admin changed from what the page loaded: the server leaves the others
 * as they are, so two admins editing different fields do not undo each other.
 */
function changedOptions(
  loaded: SiteOptions,
  form: Record<string, string>,
): Record<string, unknown> | string {
  const units = parseDollars(form.new_user_quota ?? "");
  if (units === null) return t("invalid_dollars");
  const changes: Record<string, unknown> = {};
  if (form.registration !== loaded.registration) changes.registration = form.registration;
  if (units !== loaded.new_user_quota) changes.new_user_quota = units;
  if (form.trial_verification !== loaded.trial_verification)
    changes.trial_verification = form.trial_verification;
  const siteKey = form.turnstile_site_key ?? "";
  if (siteKey !== (loaded.turnstile_site_key ?? "")) changes.turnstile_site_key = siteKey;
  // The secret is never shown: an empty field keeps the saved one.
  if (form.turnstile_secret) changes.turnstile_secret = form.turnstile_secret;
  return changes;
}

export function GeneralSettings() {
  const options = useLoad(async () => (await get<SiteOptions>("/api/option")).data, []);
  const action = useAction();
  const [notice, setNotice] = useState("");
  const [trial, setTrial] = useState<TrialVerification | undefined>(undefined);
  const current = options.data;
  const shownTrial = trial ?? current?.trial_verification;
  return (
    <>
      <Loading loaded={options} />
      {current && (
        <Card class="narrow">
          <form
            data-testid="site-settings-form"
            onSubmit={(e) => {
              const form = e.currentTarget as HTMLFormElement;
              const changes = changedOptions(current, formFields(e));
              if (typeof changes === "string") return action.setError(changes);
              setNotice("");
              if (Object.keys(changes).length === 0) {
                setNotice(t("options_nothing_changed"));
                return;
              }
              action.run(async () => {
                await put("/api/option", changes);
                setNotice(t("saved"));
                const secret = form.elements.namedItem("turnstile_secret");
                if (secret instanceof HTMLInputElement) secret.value = "";
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
            <Field label={t("trial_verification")} hint={t("trial_verification_hint")}>
              <select
                name="trial_verification"
                onChange={(e) => setTrial(e.currentTarget.value as TrialVerification)}
              >
                {TRIAL.map(([mode, key]) => (
                  <option key={mode} value={mode} selected={shownTrial === mode}>
                    {t(key)}
                  </option>
                ))}
              </select>
            </Field>
            {shownTrial === "turnstile" && (
              <>
                <Field label={t("turnstile_site_key")}>
                  <input
                    name="turnstile_site_key"
                    autoComplete="off"
                    defaultValue={current.turnstile_site_key ?? ""}
                  />
                </Field>
                <Field
                  label={t("turnstile_secret")}
                  hint={
                    current.turnstile_secret_set
                      ? t("turnstile_secret_kept")
                      : t("turnstile_secret_hint")
                  }
                >
                  <input name="turnstile_secret" type="password" autoComplete="off" />
                </Field>
              </>
            )}
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
