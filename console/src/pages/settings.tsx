import { useState } from "preact/hooks";
import { post, put, type User } from "../api";
import {
  Card,
  ErrorText,
  Field,
  formFields,
  Notice,
  PageHead,
  SecretField,
  useAction,
} from "../components/ui";
import { t } from "../i18n";
import { displayName, session, signedIn } from "../session";

function AccessToken() {
  const [token, setToken] = useState("");
  const action = useAction();
  const example = `curl ${location.origin}/api/user/stat -H "Authorization: Bearer ${token}"`;
  return (
    <Card title={t("token_title")}>
      <p class="muted">{t("token_intro")}</p>
      <ErrorText error={action.error} />
      {token ? (
        <>
          <p class="warning" role="alert">
            {t("token_once")}
          </p>
          <SecretField label={t("token_label")} value={token} />
          <SecretField label={t("token_example")} value={example} multiline />
        </>
      ) : null}
      <button
        type="button"
        class="primary"
        disabled={action.busy}
        onClick={() =>
          action.run(async () => {
            setToken((await post<string>("/api/user/token")).data);
          })
        }
      >
        {token ? t("token_regenerate") : t("token_generate")}
      </button>
      <small class="hint block">{t("token_replaces")}</small>
    </Card>
  );
}

function Password() {
  const action = useAction();
  const [done, setDone] = useState("");
  return (
    <Card title={t("password_title")}>
      <form
        class="form-narrow"
        onSubmit={(e) => {
          const form = e.currentTarget;
          const f = formFields(e);
          setDone("");
          if (f.new_password !== f.confirm) return action.setError(t("password_mismatch"));
          action.run(async () => {
            const { data } = await put<User | { csrf_token?: string }>("/api/user/self", {
              password: f.password,
              new_password: f.new_password,
            });
            const current = session.get();
            if ("id" in data) signedIn(data);
            else if (current) signedIn({ ...current, csrf_token: data?.csrf_token });
            form.reset();
            setDone(t("password_changed"));
          });
        }}
      >
        <Field label={t("password_current")}>
          <input name="password" type="password" autoComplete="current-password" required />
        </Field>
        <Field label={t("password_new")}>
          <input
            name="new_password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
          />
        </Field>
        <Field label={t("password_confirm")}>
          <input name="confirm" type="password" autoComplete="new-password" required />
        </Field>
        <ErrorText error={action.error} />
        <Notice text={done} />
        <button type="submit" class="primary" disabled={action.busy}>
          {t("password_submit")}
        </button>
      </form>
    </Card>
  );
}

export function Settings() {
  const user = session.use();
  return (
    <>
      <PageHead title={t("settings_title")} />
      {user && (
        <Card title={t("profile_title")}>
          <dl class="kv inline">
            <div>
              <dt>{t("username")}</dt>
              <dd>{displayName(user)}</dd>
            </div>
            <div>
              <dt>{t("group")}</dt>
              <dd>{user.group}</dd>
            </div>
            <div>
              <dt>{t("role")}</dt>
              <dd>{user.role === "admin" ? t("role_admin") : t("role_user")}</dd>
            </div>
          </dl>
        </Card>
      )}
      <AccessToken />
      <Password />
    </>
  );
}
