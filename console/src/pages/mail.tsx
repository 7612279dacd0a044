/**
 * Mail (stream e-mail): the register page's code field, "forgot password" and the page its link
 * opens, Settings' e-mail and low-balance alert. The server answers a request for a code or a
 * link the same whether or not the address has an account, and so does this page.
 */
import { useState } from "preact/hooks";
import { post, put, request, type User } from "../api";
import { Card, ErrorText, Field, formFields, Notice, PageHead, useAction } from "../components/ui";
import { getLang, t } from "../i18n";
import { route } from "../router";
import { refreshUser } from "../session";
import { signIn } from "./login";
import { SendCode } from "./mail-code";

/** #/forgot: asks for a reset link for a verified address. */
export function Forgot() {
  const action = useAction();
  const [sent, setSent] = useState(false);
  return (
    <Card class="narrow">
      <PageHead title={t("forgot_title")} />
      <p class="muted">{t("forgot_intro")}</p>
      <form
        data-testid="forgot-form"
        onSubmit={(e) => {
          const f = formFields(e);
          action.run(async () => {
            await request(
              "POST",
              "/api/reset_password",
              { email: f.email, lang: getLang() },
              { signedIn: false },
            );
            setSent(true);
          });
        }}
      >
        <Field label={t("email")}>
          <input name="email" type="email" autoComplete="email" required />
        </Field>
        {sent && <Notice text={t("forgot_sent")} />}
        <ErrorText error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          {t("forgot_submit")}
        </button>
      </form>
      <p class="muted">
        <a href="#/login">{t("login_link")}</a>
      </p>
    </Card>
  );
}

/** #/reset?token=…: the link from the mail; the token stays in the fragment (never sent). */
export function Reset() {
  const token = route.use().query.get("token") ?? "";
  const action = useAction();
  return (
    <Card class="narrow">
      <PageHead title={t("reset_title")} />
      {!token ? (
        <p class="warning" role="alert" data-testid="reset-form">
          {t("reset_no_token")} <a href="#/forgot">{t("reset_ask_again")}</a>
        </p>
      ) : (
        <form
          data-testid="reset-form"
          onSubmit={(e) => {
            const f = formFields(e);
            if (f.password !== f.confirm) {
              action.setError(t("password_mismatch"));
              return;
            }
            action.run(async () => {
              const { data } = await request<{ username: string | null }>(
                "POST",
                "/api/user/reset",
                { token, password: f.password },
                { signedIn: false },
              );
              if (data.username) await signIn(data.username, f.password ?? "");
            });
          }}
        >
          <Field label={t("password")}>
            <input
              name="password"
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
          <button type="submit" class="primary" disabled={action.busy}>
            {t("reset_submit")}
          </button>
          <p class="muted">
            <a href="#/forgot">{t("reset_ask_again")}</a>
          </p>
        </form>
      )}
    </Card>
  );
}

/** Settings: the address, and a new one proven by its code. */
export function EmailSettings(props: { user: User }) {
  const action = useAction();
  const [email, setEmail] = useState("");
  const [done, setDone] = useState(false);
  const { email: current, email_verified: verified } = props.user;
  return (
    <Card title={t("email_settings_title")}>
      <p data-testid="email-current">
        {t("email_current")}: {current || t("email_none")}
        {current ? ` (${verified ? t("email_verified") : t("email_unverified")})` : ""}
      </p>
      <form
        class="form-narrow"
        data-testid="email-form"
        onSubmit={(e) => {
          const form = e.currentTarget;
          const f = formFields(e);
          setDone(false);
          action.run(async () => {
            await post("/api/user/email", { email: f.email, code: f.code });
            await refreshUser();
            form.reset();
            setEmail("");
            setDone(true);
          });
        }}
      >
        <Field label={t("email_new")}>
          <input
            name="email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </Field>
        <SendCode email={email} path="/api/user/email/code" signedIn />
        <Field label={t("email_code")}>
          <input name="code" required autoComplete="one-time-code" inputMode="numeric" />
        </Field>
        {done && <Notice text={t("email_changed")} />}
        <ErrorText error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          {t("email_change_submit")}
        </button>
      </form>
    </Card>
  );
}

/** Settings: the balance under which one mail is sent (PUT /api/user/low_balance_alert). */
export function LowBalanceSettings(props: { user: User }) {
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const save = (usd: number | null) => {
    setSaved(false);
    action.run(async () => {
      await put("/api/user/low_balance_alert", { usd });
      await refreshUser();
      setSaved(true);
    });
  };
  const threshold = props.user.low_balance_alert_usd;
  return (
    <Card title={t("low_balance_title")}>
      <p class="muted">{t("low_balance_intro")}</p>
      {!props.user.email_verified ? (
        <p class="muted" data-testid="low-balance-needs-email">
          {t("low_balance_needs_email")}
        </p>
      ) : (
        <form
          class="form-narrow"
          data-testid="low-balance-form"
          onSubmit={(e) => {
            const f = formFields(e);
            save(Number(f.usd));
          }}
        >
          <Field label={t("low_balance_usd")}>
            <input
              name="usd"
              type="number"
              min="0.01"
              step="0.01"
              required
              value={threshold ?? ""}
            />
          </Field>
          {saved && <Notice text={t("low_balance_saved")} />}
          <ErrorText error={action.error} />
          <button type="submit" class="primary" disabled={action.busy}>
            {t("low_balance_save")}
          </button>{" "}
          {threshold !== null && threshold !== undefined && (
            <button type="button" disabled={action.busy} onClick={() => save(null)}>
              {t("low_balance_off")}
            </button>
          )}
        </form>
      )}
    </Card>
  );
}
