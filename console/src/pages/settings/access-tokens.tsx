import { useState } from "preact/hooks";
import { del, get, post } from "../../api";
import {
  ask,
  Card,
  dateTime,
  ErrorText,
  Field,
  formFields,
  Loading,
  SecretField,
  Table,
  useAction,
  useLoad,
} from "../../components/ui";
import { type Key, t } from "../../i18n";

/** One of GET /api/user/tokens: never the secret, only its last characters. */
interface TokenView {
  name: string;
  via: string;
  created_at: number;
  tail: string | null;
}

const VIA: Record<string, Key> = {
  console: "tokens_via_console",
  cli: "tokens_via_cli",
  api: "tokens_via_api",
};

/** A new access token, shown once, with an example call. */
function NewToken(props: { name: string; token: string }) {
  const example = `curl ${location.origin}/api/user/stat -H "Authorization: Bearer ${props.token}"`;
  return (
    <div data-testid="new-access-token">
      <p class="warning" role="alert">
        {t("token_once")}
      </p>
      <SecretField label={`${t("token_label")} · ${props.name}`} value={props.token} />
      <SecretField label={t("token_example")} value={example} multiline />
    </div>
  );
}

/**
 * The user's system access tokens by name (the console's, the CLI's, a script's). Making one
 * replaces only the token of that name and asks for the password (a session left open
 * somewhere is not enough; a recent sign-in is: then the field may stay empty).
 */
export function AccessTokens() {
  const tokens = useLoad(() => get<TokenView[]>("/api/user/tokens"), []);
  const [made, setMade] = useState<{ name: string; token: string } | null>(null);
  const action = useAction();
  const revoke = useAction();
  const list = tokens.data?.data ?? [];
  return (
    <Card title={t("tokens_title")}>
      <p class="muted">{t("token_intro")}</p>
      <Loading loaded={tokens} />
      <Table
        testId="access-tokens"
        head={[t("tokens_name"), t("tokens_created"), t("tokens_via"), t("tokens_tail"), ""]}
        empty={list.length === 0}
      >
        {list.map((token) => (
          <tr key={token.name}>
            <td>{token.name}</td>
            <td>{dateTime(token.created_at)}</td>
            <td>{VIA[token.via] ? t(VIA[token.via] as Key) : token.via}</td>
            <td class="mono">{token.tail ? `…${token.tail}` : ""}</td>
            <td>
              <button
                type="button"
                class="danger"
                disabled={revoke.busy}
                onClick={() =>
                  revoke.run(async () => {
                    if (!(await ask(t("tokens_revoke_confirm", { name: token.name })))) return;
                    await del(`/api/user/tokens/${encodeURIComponent(token.name)}`);
                    if (made?.name === token.name) setMade(null);
                    tokens.reload();
                  })
                }
              >
                {t("tokens_revoke")}
              </button>
            </td>
          </tr>
        ))}
      </Table>
      <ErrorText error={revoke.error} />
      {made ? <NewToken name={made.name} token={made.token} /> : null}
      <form
        data-testid="access-token-form"
        class="form-narrow"
        onSubmit={(e) => {
          const form = e.currentTarget;
          const f = formFields(e);
          action.run(async () => {
            const body = { name: f.name, ...(f.password ? { password: f.password } : {}) };
            const { data } = await post<{ name: string; token: string }>("/api/user/tokens", body);
            setMade(data);
            form.reset();
            tokens.reload();
          });
        }}
      >
        <Field label={t("tokens_name")} hint={t("tokens_name_hint")}>
          <input name="name" required maxLength={64} />
        </Field>
        <Field label={t("token_password")} hint={t("tokens_password_hint")}>
          <input name="password" type="password" autoComplete="current-password" />
        </Field>
        <ErrorText error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          {t("token_generate")}
        </button>
        <small class="hint block">{t("tokens_replaces")}</small>
      </form>
    </Card>
  );
}
