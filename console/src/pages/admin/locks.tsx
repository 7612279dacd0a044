import { del, get, type Lock } from "../../api";
import {
  ask,
  dateTime,
  ErrorText,
  Loading,
  label,
  PageHead,
  Table,
  useAction,
  useLoad,
} from "../../components/ui";
import { type Key, t } from "../../i18n";

const KIND: Record<string, Key> = {
  "sign-in": "lock_sign_in",
  "sign-in-username": "lock_sign_in_username",
  "sign-in-address": "lock_sign_in_address",
  "sign-in-network": "lock_sign_in_network",
  "registration-address": "lock_registration_address",
  "registration-network": "lock_registration_network",
  "registration-site": "lock_registration_site",
  "redemption-user": "lock_redemption_user",
  "redemption-address": "lock_redemption_address",
  // stream e-mail
  "mail-email": "lock_mail_email",
  "mail-email-minute": "lock_mail_email_minute",
  "mail-address": "lock_mail_address",
  "mail-network": "lock_mail_network",
};

/** Who a lock is on: a username, an address, both, a user, or the whole site. */
function subject(lock: Lock): string {
  const parts = [lock.username, lock.address, lock.user_id].filter(Boolean);
  return parts.length > 0 ? parts.join(" · ") : t("lock_whole_site");
}

/**
 * The attempt counters at their limit (README, Sign-in and sessions): who is locked out or
 * slowed, until when; an admin lifts one.
 */
export function Locks() {
  const list = useLoad(async () => (await get<Lock[]>("/api/lock")).data, []);
  const action = useAction();
  const lift = async (lock: Lock) => {
    if (!(await ask(t("lock_lift_confirm", { subject: subject(lock) })))) return;
    await action.run(async () => {
      await del(`/api/lock/${encodeURIComponent(lock.id)}`);
      list.reload();
    });
  };
  const rows = list.data ?? [];
  return (
    <>
      <PageHead title={t("nav_admin_locks")}>
        <button type="button" onClick={() => list.reload()}>
          {t("reload")}
        </button>
      </PageHead>
      <p class="muted">{t("locks_intro")}</p>
      <Loading loaded={list} />
      <ErrorText error={action.error} />
      <Table
        testId="locks"
        empty={list.data !== undefined && rows.length === 0}
        head={[
          t("lock_kind"),
          t("lock_subject"),
          t("lock_failures"),
          t("lock_until"),
          t("actions"),
        ]}
      >
        {rows.map((lock) => (
          <tr key={lock.id}>
            <td>{label(KIND, lock.kind)}</td>
            <td class="mono">{subject(lock)}</td>
            <td>
              {lock.failures} / {lock.limit}
            </td>
            <td>{dateTime(lock.until)}</td>
            <td class="row-actions">
              <button type="button" disabled={action.busy} onClick={() => lift(lock)}>
                {t("lock_lift")}
              </button>
            </td>
          </tr>
        ))}
      </Table>
    </>
  );
}
