/** The "send code" button of the register page and Settings' e-mail (stream e-mail). */
import { useState } from "preact/hooks";
import { request } from "../api";
import { ErrorText, Notice, useAction } from "../components/ui";
import { getLang, t } from "../i18n";

/** "Send code": mails a code to `email` by `path` (registration's or Settings'). */
export function SendCode(props: { email: string; path: string; signedIn?: boolean }) {
  const action = useAction();
  const [sent, setSent] = useState(false);
  return (
    <>
      <button
        type="button"
        data-testid="send-code"
        disabled={action.busy}
        onClick={() => {
          setSent(false);
          if (!props.email) {
            action.setError(t("email_code_needs_address"));
            return;
          }
          action.run(async () => {
            await request(
              "POST",
              props.path,
              { email: props.email, lang: getLang() },
              { signedIn: props.signedIn ?? false },
            );
            setSent(true);
          });
        }}
      >
        {t("email_code_send")}
      </button>
      {sent && <Notice text={t("email_code_sent")} />}
      <ErrorText error={action.error} />
    </>
  );
}
