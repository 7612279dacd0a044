import { useState } from "preact/hooks";
import { get, request, type SiteStatus, type User } from "../api";
import { TurnstileWidget } from "../components/turnstile";
import { Card, ErrorText, Field, formFields, PageHead, useAction, useLoad } from "../components/ui";
import { t } from "../i18n";
import { go, route } from "../router";
import { signedIn } from "../session";
import { SendCode } from "./mail-code";
import { SignInProviders } from "./sign-in-providers";

export async function signIn(username: string, password: string) {
  const { data } = await request<User>(
    "POST",
    "/api/user/login",
    { username, password },
    { signedIn: false },
  );
  signedIn(data);
  go("/dashboard");
}

export function Login() {
  const action = useAction();
  const status = useLoad(() => get<SiteStatus>("/api/status"), []);
  return (
    <Card class="narrow">
      <PageHead title={t("login_title")} />
      <form
        data-testid="login-form"
        onSubmit={(e) => {
          const f = formFields(e);
          action.run(() => signIn(f.username ?? "", f.password ?? ""));
        }}
      >
        <Field label={t("username")}>
          <input name="username" autoComplete="username" required />
        </Field>
        <Field label={t("password")}>
          <input name="password" type="password" autoComplete="current-password" required />
        </Field>
        <ErrorText error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          {t("login_submit")}
        </button>
      </form>
      <SignInProviders status={status.data?.data} />
      {status.data?.data.mail && (
        <p class="muted">
          <a href="#/forgot" data-testid="forgot-link">
            {t("login_forgot")}
          </a>
        </p>
      )}
      <p class="muted">
        {t("login_no_account")} <a href="#/register">{t("register_link")}</a>
      </p>
    </Card>
  );
}

export function Register() {
  const status = useLoad(() => get<SiteStatus>("/api/status"), []);
  const action = useAction();
  const mode = status.data?.data.registration;
  // With the site's human check on: the widget's token, and a count of resets (a token
  // verifies once, so a failed registration needs a new one).
  const siteKey = status.data?.data.turnstile_site_key;
  const [token, setToken] = useState<string | null>(null);
  const [resets, setResets] = useState(0);
  // An invitation link (#/register?aff=CODE) names the inviter (stream E).
  const affCode = route.use().query.get("aff") ?? "";
  // Stream e-mail: with verification required, the address is proven by a code mailed to it;
  // where the site can send mail, a code may prove it anyway (a verified address at once).
  const needsCode = status.data?.data.email_verification === "required";
  const offersCode = needsCode || status.data?.data.mail === true;
  const [email, setEmail] = useState("");
  return (
    <Card class="narrow">
      <PageHead title={t("register_title")} />
      {status.error && <ErrorText error={status.error} />}
      {mode === "closed" ? (
        <p class="notice" role="status">
          {t("register_closed")}
        </p>
      ) : (
        <form
          data-testid="register-form"
          onSubmit={(e) => {
            const f = formFields(e);
            if (f.password !== f.confirm) {
              action.setError(t("password_mismatch"));
              return;
            }
            if (siteKey && !token) {
              action.setError(t("turnstile_needed"));
              return;
            }
            action.run(async () => {
              try {
                await request(
                  "POST",
                  "/api/user/register",
                  {
                    username: f.username,
                    password: f.password,
                    email: f.email || undefined,
                    invitation_code: f.invitation_code || undefined,
                    turnstile_token: siteKey ? token : undefined,
                    aff_code: affCode || undefined,
                    verification_code: f.verification_code || undefined,
                  },
                  { signedIn: false },
                );
              } catch (err) {
                if (siteKey) setResets((n) => n + 1);
                throw err;
              }
              await signIn(f.username ?? "", f.password ?? "");
            });
          }}
        >
          <Field label={t("username")}>
            <input name="username" autoComplete="username" required maxLength={64} />
          </Field>
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
          <Field label={needsCode ? t("email") : t("email_optional")}>
            <input
              name="email"
              type="email"
              autoComplete="email"
              required={needsCode}
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </Field>
          {offersCode && (
            <>
              <SendCode email={email} path="/api/verification" />
              <Field label={t("email_code")}>
                <input
                  name="verification_code"
                  required={needsCode}
                  autoComplete="one-time-code"
                  inputMode="numeric"
                />
              </Field>
            </>
          )}
          {mode === "invitation" && (
            <Field label={t("invitation_code")} hint={t("invitation_hint")}>
              <input name="invitation_code" required autoComplete="off" />
            </Field>
          )}
          {affCode && <p class="muted">{t("register_invited", { code: affCode })}</p>}
          {siteKey && (
            <TurnstileWidget
              siteKey={siteKey}
              onToken={setToken}
              resets={resets}
              onError={action.setError}
            />
          )}
          <ErrorText error={action.error} />
          <button type="submit" class="primary" disabled={action.busy || status.loading}>
            {t("register_submit")}
          </button>
        </form>
      )}
      {/* Signing up with an outside account follows the same registration rule on the server. */}
      {mode && mode !== "closed" ? <SignInProviders status={status.data?.data} /> : null}
      <p class="muted">
        {t("register_have_account")} <a href="#/login">{t("login_link")}</a>
      </p>
    </Card>
  );
}
