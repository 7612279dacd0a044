import { useState } from "preact/hooks";
import { type KeyView, put, type User } from "../api";
import {
  Card,
  dateTime,
  ErrorText,
  Field,
  formFields,
  Notice,
  PageHead,
  useAction,
} from "../components/ui";
import { t } from "../i18n";
import { href } from "../router";
import { displayName, session, signedIn } from "../session";
import { EmailSettings, LowBalanceSettings } from "./mail";
import { AccessTokens } from "./settings/access-tokens";
import { Identities } from "./settings/identities";

type PasswordChanged = User & { access_token_revoked?: boolean; keys_to_review?: KeyView[] };

/** After a password change: the access tokens it revoked, and the keys to check were the owner's. */
function AfterPasswordChange(props: { changed: PasswordChanged }) {
  const { access_token_revoked: revoked, keys_to_review: keys = [] } = props.changed;
  return (
    <>
      {revoked ? <p>{t("password_tokens_revoked")}</p> : null}
      {keys.length > 0 ? (
        <div class="review">
          <p>{t("password_keys_review")}</p>
          <ul>
            {keys.map((key) => (
              <li key={key.id}>
                <strong>{key.name}</strong> <span class="mono">{key.key}</span>{" "}
                <span class="muted">{dateTime(key.created_time)}</span>
              </li>
            ))}
          </ul>
          <a href={href("/keys")}>{t("password_keys_link")}</a>
        </div>
      ) : null}
    </>
  );
}

function Password() {
  const action = useAction();
  const [done, setDone] = useState("");
  const [changed, setChanged] = useState<PasswordChanged | null>(null);
  return (
    <Card title={t("password_title")}>
      <form
        data-testid="password-form"
        class="form-narrow"
        onSubmit={(e) => {
          const form = e.currentTarget;
          const f = formFields(e);
          setDone("");
          setChanged(null);
          if (f.new_password !== f.confirm) return action.setError(t("password_mismatch"));
          action.run(async () => {
            const { data } = await put<PasswordChanged>("/api/user/self", {
              password: f.password,
              new_password: f.new_password,
            });
            const { access_token_revoked: _revoked, keys_to_review: _keys, ...user } = data;
            signedIn({ ...session.get(), ...user });
            form.reset();
            setDone(t("password_changed"));
            setChanged(data);
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
      {changed ? <AfterPasswordChange changed={changed} /> : null}
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
      <AccessTokens />
      <Identities />
      <Password />
      {/* stream e-mail */}
      {user && <EmailSettings user={user} />}
      {user && <LowBalanceSettings user={user} />}
    </>
  );
}
