import { useState } from "preact/hooks";
import { del, get, type KeyView, post, put, type User } from "../api";
import {
  ask,
  Badge,
  Check,
  Dialog,
  dateTime,
  ErrorText,
  Field,
  formFields,
  Loading,
  label,
  Money,
  PageHead,
  Pager,
  SecretField,
  STATUS,
  Table,
  useAction,
  useLoad,
} from "../components/ui";
import { t } from "../i18n";
import { dollarsInput, parseDollars } from "../money";
import { href } from "../router";
import { displayName } from "../session";

const SIZE = 20;

/** A date input's value (local) as the end of that day in unix seconds. */
function endOfDay(date: string): number {
  const [y, m, d] = date.split("-").map(Number);
  return Math.floor(new Date(y ?? 0, (m ?? 1) - 1, d ?? 1, 23, 59, 59).getTime() / 1000);
}

function dateInput(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Create or edit a key: name, expiry, quota in dollars or unlimited, model allow-list. */
function KeyForm(props: {
  current?: KeyView;
  onSubmit(body: Record<string, unknown>): Promise<void>;
  onCancel(): void;
}) {
  const { current } = props;
  const [never, setNever] = useState(current ? current.expired_time === -1 : true);
  const [unlimited, setUnlimited] = useState(current ? current.unlimited_quota : true);
  const action = useAction();
  return (
    <form
      onSubmit={(e) => {
        const f = formFields(e);
        const body: Record<string, unknown> = { name: f.name ?? "" };
        if (never) body.expired_time = -1;
        else if (!f.expires) return action.setError(t("key_expiry_required"));
        else body.expired_time = endOfDay(f.expires);
        if (unlimited) body.unlimited_quota = true;
        else {
          const units = parseDollars(f.quota ?? "");
          if (units === null) return action.setError(t("invalid_dollars"));
          body.unlimited_quota = false;
          body.remain_quota = units;
        }
        const models = (f.models ?? "")
          .split(/[\s,]+/)
          .map((m) => m.trim())
          .filter(Boolean);
        body.models = models.length ? models : null;
        action.run(() => props.onSubmit(body));
      }}
    >
      <Field label={t("key_name")}>
        <input name="name" required maxLength={64} defaultValue={current?.name} />
      </Field>
      <fieldset>
        <legend>{t("key_expiry")}</legend>
        <Check label={t("key_never_expires")} checked={never} onChange={setNever} />
        {!never && (
          <Field label={t("key_expires_on")}>
            <input
              name="expires"
              type="date"
              required
              defaultValue={
                current && current.expired_time > 0 ? dateInput(current.expired_time) : ""
              }
            />
          </Field>
        )}
      </fieldset>
      <fieldset>
        <legend>{t("key_quota")}</legend>
        <Check label={t("key_unlimited")} checked={unlimited} onChange={setUnlimited} />
        {!unlimited && (
          <Field label={t("key_quota_usd")} hint={t("key_quota_hint")}>
            <input
              name="quota"
              inputMode="decimal"
              required
              defaultValue={
                current && !current.unlimited_quota ? dollarsInput(current.remain_quota) : ""
              }
            />
          </Field>
        )}
      </fieldset>
      <Field label={t("key_models")} hint={t("key_models_hint")}>
        <input name="models" defaultValue={current?.models?.join(", ") ?? ""} autoComplete="off" />
      </Field>
      <ErrorText error={action.error} />
      <div class="buttons">
        <button type="button" onClick={props.onCancel}>
          {t("cancel")}
        </button>
        <button type="submit" class="primary" disabled={action.busy}>
          {current ? t("save") : t("key_create")}
        </button>
      </div>
    </form>
  );
}

/** Keys: a user's own, or (admin, `userId`) another user's. */
export function Keys(props: { userId?: string }) {
  const { userId } = props;
  const [page, setPage] = useState(0);
  const [editing, setEditing] = useState<KeyView | "new" | null>(null);
  const [created, setCreated] = useState<KeyView | null>(null);
  const rowAction = useAction();
  const owner = useLoad(
    async () => (userId ? (await get<User>(`/api/user/${userId}`)).data : null),
    [userId],
  );
  const keys = useLoad(
    () => get<KeyView[]>("/api/token/", { p: page, size: SIZE, user_id: userId }),
    [page, userId],
  );
  const list = keys.data?.data ?? [];
  const title = owner.data
    ? t("keys_of_user", { name: displayName(owner.data) })
    : userId
      ? t("nav_keys")
      : t("keys_title");

  const save = async (body: Record<string, unknown>) => {
    if (editing === "new") {
      const { data } = await post<KeyView>(
        "/api/token/",
        userId ? { ...body, user_id: userId } : body,
      );
      setCreated(data);
    } else if (editing) {
      await put(`/api/token/${editing.id}`, body);
    }
    setEditing(null);
    keys.reload();
  };

  const setStatus = (key: KeyView, status: "enabled" | "disabled") =>
    rowAction.run(async () => {
      await put(`/api/token/${key.id}`, { status });
      keys.reload();
    });

  const remove = async (key: KeyView) => {
    if (!(await ask(t("key_delete_confirm", { name: key.name })))) return;
    await rowAction.run(async () => {
      await del(`/api/token/${key.id}`);
      keys.reload();
    });
  };

  const usageLink = (key: KeyView) =>
    userId
      ? href("/admin/logs", { user_id: userId, key_name: key.name })
      : href("/logs", { key_name: key.name });

  return (
    <>
      <PageHead title={title}>
        {userId && <a href={href("/admin/users")}>{t("back_to_users")}</a>}
        <button type="button" class="primary" onClick={() => setEditing("new")}>
          {t("key_create")}
        </button>
      </PageHead>
      <Loading loaded={keys} />
      <ErrorText error={rowAction.error} />
      <Table
        testId="keys-table"
        empty={keys.data !== undefined && list.length === 0}
        head={[
          t("key_name"),
          t("key_key"),
          t("status"),
          t("key_remaining"),
          t("used_quota"),
          t("key_expiry"),
          t("key_models"),
          t("key_last_used"),
          t("actions"),
        ]}
      >
        {list.map((key) => (
          <tr key={key.id}>
            <td class="name">{key.name}</td>
            <td class="mono">{key.key}</td>
            <td>
              <Badge value={key.status} label={label(STATUS, key.status)} />
            </td>
            <td>{key.unlimited_quota ? t("unlimited") : <Money units={key.remain_quota} />}</td>
            <td>
              <Money units={key.used_quota} />
            </td>
            <td class="date">
              {key.expired_time === -1 ? t("never") : dateTime(key.expired_time)}
            </td>
            <td class="wrap">{key.models?.length ? key.models.join(", ") : t("all_models")}</td>
            <td class="date">
              {key.accessed_time > key.created_time ? dateTime(key.accessed_time) : "—"}
            </td>
            <td class="row-actions">
              <a href={usageLink(key)}>{t("key_usage")}</a>
              <button type="button" onClick={() => setEditing(key)}>
                {t("edit")}
              </button>
              {key.status === "disabled" ? (
                <button type="button" onClick={() => setStatus(key, "enabled")}>
                  {t("enable")}
                </button>
              ) : (
                <button type="button" onClick={() => setStatus(key, "disabled")}>
                  {t("disable")}
                </button>
              )}
              <button type="button" class="danger" onClick={() => remove(key)}>
                {t("delete")}
              </button>
            </td>
          </tr>
        ))}
      </Table>
      <Pager page={page} size={SIZE} total={keys.data?.total ?? 0} onPage={setPage} />
      {editing && (
        <Dialog
          title={editing === "new" ? t("key_create") : t("key_edit")}
          onClose={() => setEditing(null)}
        >
          <KeyForm
            current={editing === "new" ? undefined : editing}
            onSubmit={save}
            onCancel={() => setEditing(null)}
          />
        </Dialog>
      )}
      {created && (
        <Dialog title={t("key_created_title")} onClose={() => setCreated(null)}>
          <p class="warning" role="alert">
            {t("key_created_warning")}
          </p>
          <SecretField label={t("key_key")} value={created.key} />
          <div class="buttons">
            <button type="button" class="primary" onClick={() => setCreated(null)}>
              {t("done")}
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}
