import { del, get, type SiteStatus } from "../../api";
import {
  ask,
  Card,
  dateTime,
  ErrorText,
  Loading,
  Table,
  useAction,
  useLoad,
} from "../../components/ui";
import { getLang, t } from "../../i18n";
import { OAuthRefusal, providers } from "../sign-in-providers";

/** One of GET /api/user/identities. */
interface IdentityView {
  provider: string;
  login: string | null;
  linked_at: number;
}

/**
 * The outside accounts (GitHub, LINUX DO, OpenID Connect) the user signs in with. Linking one
 * is a sign-in at the provider started from here (`intent=link`: the server ties it to this
 * session); the callback comes back to Settings, with `?error=` when refused. Unlinking the
 * account's last way to sign in is refused by the server (`identity_last_sign_in`).
 */
export function Identities() {
  const status = useLoad(() => get<SiteStatus>("/api/status"), []);
  const linked = useLoad(() => get<IdentityView[]>("/api/user/identities"), []);
  const unlink = useAction();
  const offered = providers(status.data?.data);
  const list = linked.data?.data ?? [];
  const label = (name: string) => offered.find((p) => p.name === name)?.label ?? name;
  const linkable = offered.filter((p) => !list.some((identity) => identity.provider === p.name));
  return (
    <Card title={t("identities_title")}>
      <p class="muted">{t("identities_intro")}</p>
      <OAuthRefusal />
      <Loading loaded={linked} />
      <Table
        testId="identities"
        head={[t("identities_provider"), t("identities_login"), t("identities_linked"), ""]}
        empty={list.length === 0}
      >
        {list.map((identity) => (
          <tr key={identity.provider}>
            <td>{label(identity.provider)}</td>
            <td>{identity.login ?? ""}</td>
            <td>{dateTime(identity.linked_at)}</td>
            <td>
              <button
                type="button"
                class="danger"
                disabled={unlink.busy}
                onClick={() =>
                  unlink.run(async () => {
                    const name = label(identity.provider);
                    if (!(await ask(t("identities_unlink_confirm", { provider: name })))) return;
                    await del(`/api/user/identities/${encodeURIComponent(identity.provider)}`);
                    linked.reload();
                  })
                }
              >
                {t("identities_unlink")}
              </button>
            </td>
          </tr>
        ))}
      </Table>
      <ErrorText error={unlink.error} />
      {linkable.length > 0 ? (
        <div class="sign-in-providers">
          {linkable.map((provider) => (
            <a
              key={provider.name}
              class="button"
              href={`/api/oauth/${provider.name}/start?intent=link&lang=${getLang()}`}
            >
              {t("identities_link", { provider: provider.label })}
            </a>
          ))}
        </div>
      ) : null}
    </Card>
  );
}
