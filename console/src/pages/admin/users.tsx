import { useState } from "preact/hooks";
import { get, post, put, type RateLimits, type User } from "../../api";
import {
  ask,
  Badge,
  BUCKET,
  Check,
  Dialog,
  dateTime,
  ErrorText,
  Field,
  formFields,
  Loading,
  label,
  Money,
  Notice,
  PageHead,
  Pager,
  SecretField,
  STATUS,
  Table,
  useAction,
  useLoad,
} from "../../components/ui";
import { t } from "../../i18n";
import { parseDollars, usd } from "../../money";
import { href } from "../../router";
import { displayName, session } from "../../session";

const SIZE = 20;

type Editing =
  | { kind: "create" }
  | { kind: "edit"; user: User }
  | { kind: "topup"; user: User }
  | { kind: "password"; user: User }
  | { kind: "limits"; user: User };

const RATE_FIELDS = [
  ["rpm", "rate_rpm"],
  ["tpm", "rate_tpm"],
  ["concurrency", "rate_concurrency"],
] as const;

/**
 * The form's rate limits as the API's overrides: each field filled in (0: no limit), or
 * null when none is (the group's limits again). Undefined, with the error set, when a field
 * is not a whole number.
 */
function rateLimitsOf(
  fields: Record<string, string>,
  fail: (error: string) => void,
): RateLimits | null | undefined {
  const limits: RateLimits = {};
  for (const [name, label] of RATE_FIELDS) {
    const text = fields[name] ?? "";
    if (text === "") continue;
    if (!/^\d{1,10}$/.test(text)) {
      fail(t("rate_invalid", { field: t(label) }));
      return undefined;
    }
    limits[name] = Number(text);
  }
  return Object.keys(limits).length > 0 ? limits : null;
}

/** A user's overrides in a line, for the users list ("" when they have none). */
function rateLimitsText(limits: RateLimits | undefined): string {
  return RATE_FIELDS.flatMap(([name, label]) =>
    limits?.[name] === undefined ? [] : [`${t(label)} ${limits[name]?.toLocaleString()}`],
  ).join(" · ");
}

function Buttons(props: { busy: boolean; onCancel(): void; submit: string }) {
  return (
    <div class="buttons">
      <button type="button" onClick={props.onCancel}>
        {t("cancel")}
      </button>
      <button type="submit" class="primary" disabled={props.busy}>
        {props.submit}
      </button>
    </div>
  );
}

function RoleSelect(props: { value?: string }) {
  return (
    <select name="role">
      <option value="user" selected={props.value !== "admin"}>
        {t("role_user")}
      </option>
      <option value="admin" selected={props.value === "admin"}>
        {t("role_admin")}
      </option>
    </select>
  );
}

/** The form for one action on a user (or creating one); resolves with a notice to show. */
function UserForm(props: { editing: Editing; onDone(notice: string, token?: string): void }) {
  const { editing } = props;
  const action = useAction();
  const cancel = () => props.onDone("");
  const submit = (e: Event) => {
    const f = formFields(e);
    action.run(async () => {
      switch (editing.kind) {
        case "create": {
          const { data } = await post<User>("/api/user/", {
            username: f.username,
            password: f.password || undefined,
            group: f.group || undefined,
            role: f.role,
          });
          return props.onDone(t("user_created", { name: f.username ?? "" }), data.access_token);
        }
        case "edit":
          await put(`/api/user/${editing.user.id}`, {
            name: f.name || undefined,
            group: f.group || undefined,
            role: f.role,
          });
          return props.onDone(t("saved"));
        case "password":
          await put(`/api/user/${editing.user.id}`, { password: f.password });
          return props.onDone(t("user_password_reset", { name: displayName(editing.user) }));
        case "limits": {
          const limits = rateLimitsOf(f, action.setError);
          if (limits === undefined) return;
          await put(`/api/user/${editing.user.id}`, { rate_limits: limits });
          return props.onDone(t("user_rate_limits_saved", { name: displayName(editing.user) }));
        }
        case "topup": {
          const units = parseDollars(f.dollars ?? "");
          if (!units) return action.setError(t("invalid_dollars"));
          const answer = await post<User>(`/api/user/${editing.user.id}/topup`, {
            quota: units,
            bucket: f.bucket,
            reference: f.reference || undefined,
          });
          return props.onDone(
            answer.duplicate
              ? t("user_topup_duplicate")
              : t("user_topup_done", {
                  amount: usd(units),
                  bucket: label(BUCKET, f.bucket),
                  name: displayName(editing.user),
                }),
          );
        }
      }
    });
  };
  const user = "user" in editing ? editing.user : undefined;
  return (
    <form onSubmit={submit}>
      {editing.kind === "create" && (
        <>
          <Field label={t("username")}>
            <input name="username" required maxLength={64} autoComplete="off" />
          </Field>
          <Field label={t("password_optional")}>
            <input name="password" type="password" autoComplete="new-password" />
          </Field>
          <Field label={t("group")}>
            <input name="group" defaultValue="default" />
          </Field>
          <Field label={t("role")}>
            <RoleSelect />
          </Field>
        </>
      )}
      {editing.kind === "edit" && (
        <>
          <Field label={t("display_name")}>
            <input name="name" defaultValue={user?.name ?? ""} maxLength={64} />
          </Field>
          <Field label={t("group")}>
            <input name="group" required defaultValue={user?.group} />
          </Field>
          <Field label={t("role")}>
            <RoleSelect value={user?.role} />
          </Field>
        </>
      )}
      {editing.kind === "password" && (
        <Field label={t("password_new")}>
          <input name="password" type="password" required autoComplete="new-password" />
        </Field>
      )}
      {editing.kind === "limits" && (
        <>
          <p class="muted">{t("user_rate_limits_hint")}</p>
          {RATE_FIELDS.map(([name, label]) => (
            <Field key={name} label={t(label)}>
              <input
                name={name}
                inputMode="numeric"
                autoComplete="off"
                defaultValue={user?.rate_limits?.[name]?.toString() ?? ""}
              />
            </Field>
          ))}
        </>
      )}
      {editing.kind === "topup" && (
        <>
          <Field label={t("bucket")}>
            <select name="bucket">
              {(["paid", "bonus", "free"] as const).map((b) => (
                <option key={b} value={b}>
                  {label(BUCKET, b)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("amount_usd")}>
            <input name="dollars" required inputMode="decimal" autoComplete="off" />
          </Field>
          <Field label={t("reference_optional")} hint={t("reference_hint")}>
            <input name="reference" maxLength={128} autoComplete="off" />
          </Field>
        </>
      )}
      <ErrorText error={action.error} />
      <Buttons
        busy={action.busy}
        onCancel={cancel}
        submit={editing.kind === "topup" ? t("user_topup") : t("save")}
      />
    </form>
  );
}

const TITLES = {
  create: "user_create",
  edit: "edit",
  topup: "user_topup",
  password: "user_reset_password",
  limits: "user_rate_limits",
} as const;

export function Users() {
  const [keyword, setKeyword] = useState("");
  const [pendingOnly, setPendingOnly] = useState(false);
  const [page, setPage] = useState(0);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [notice, setNotice] = useState("");
  const [token, setToken] = useState("");
  const rowAction = useAction();
  const users = useLoad(
    () =>
      get<User[]>("/api/user/", {
        keyword,
        trial: pendingOnly ? "pending" : undefined,
        p: page,
        size: SIZE,
      }),
    [keyword, pendingOnly, page],
  );
  const me = session.get();
  const list = users.data?.data ?? [];

  const setStatus = (user: User, status: "enabled" | "disabled") =>
    rowAction.run(async () => {
      await put(`/api/user/${user.id}`, { status });
      users.reload();
    });

  const revoke = async (user: User) => {
    const name = displayName(user);
    if (!(await ask(t("user_revoke_confirm", { name })))) return;
    setNotice("");
    await rowAction.run(async () => {
      await post(`/api/user/${user.id}/revoke`);
      setNotice(t("user_revoked", { name }));
    });
  };
  // Grants the account's pending trial quota; approving twice adds nothing the second time.
  const approveTrial = (user: User) =>
    rowAction.run(async () => {
      const answer = await post<User>(`/api/user/${user.id}/approve`);
      setNotice(
        answer.duplicate
          ? t("trial_already", { name: displayName(user) })
          : t("trial_approved", { amount: usd(user.trial_quota ?? 0), name: displayName(user) }),
      );
      users.reload();
    });

  return (
    <>
      <PageHead title={t("nav_admin_users")}>
        <button type="button" class="primary" onClick={() => setEditing({ kind: "create" })}>
          {t("user_create")}
        </button>
      </PageHead>
      <form
        class="filters"
        onSubmit={(e) => {
          setKeyword(formFields(e).keyword ?? "");
          setPage(0);
        }}
      >
        <Field label={t("user_search")}>
          <input name="keyword" type="search" defaultValue={keyword} />
        </Field>
        <Check
          label={t("trial_pending_only")}
          checked={pendingOnly}
          onChange={(checked) => {
            setPendingOnly(checked);
            setPage(0);
          }}
        />
        <div class="buttons">
          <button type="submit" class="primary">
            {t("search")}
          </button>
        </div>
      </form>
      <Notice text={notice} />
      <ErrorText error={rowAction.error} />
      <Loading loaded={users} />
      <Table
        testId="users-table"
        empty={users.data !== undefined && list.length === 0}
        head={[
          t("username"),
          t("group"),
          t("role"),
          t("status"),
          t("balance_total"),
          t("used_quota"),
          t("requests"),
          t("created_at"),
          t("actions"),
        ]}
      >
        {list.map((user) => (
          <tr key={user.id}>
            {/* By name; the id (which the API and the CLI take) in the tooltip. */}
            <td class="name" title={user.id}>
              {displayName(user)}
            </td>
            <td class="name">
              {user.group}
              {rateLimitsText(user.rate_limits) && (
                <small class="muted block">{rateLimitsText(user.rate_limits)}</small>
              )}
            </td>
            <td>{user.role === "admin" ? t("role_admin") : t("role_user")}</td>
            <td>
              <Badge value={user.status} label={label(STATUS, user.status)} />
              {user.trial_state === "pending" && (
                <Badge value="pending" label={t("trial_pending")} />
              )}
            </td>
            <td>
              <Money units={user.total_quota} />
            </td>
            <td>
              <Money units={user.used_quota} units2={false} />
            </td>
            <td class="num">{user.request_count.toLocaleString()}</td>
            <td>{dateTime(user.created_at)}</td>
            <td class="row-actions">
              <a href={href(`/admin/users/${user.id}/keys`)}>{t("user_keys")}</a>
              <a href={href("/admin/logs", { user_id: user.id })}>{t("nav_logs")}</a>
              {user.trial_state === "pending" && (
                <button type="button" class="primary" onClick={() => approveTrial(user)}>
                  {t("trial_approve")}
                </button>
              )}
              <button type="button" onClick={() => setEditing({ kind: "topup", user })}>
                {t("user_topup")}
              </button>
              <button type="button" onClick={() => setEditing({ kind: "edit", user })}>
                {t("edit")}
              </button>
              <button type="button" onClick={() => setEditing({ kind: "password", user })}>
                {t("user_reset_password")}
              </button>
              <button type="button" onClick={() => setEditing({ kind: "limits", user })}>
                {t("user_rate_limits")}
              </button>
              <button type="button" class="danger" onClick={() => revoke(user)}>
                {t("user_revoke")}
              </button>
              {user.id !== me?.id &&
                (user.status === "disabled" ? (
                  <button type="button" onClick={() => setStatus(user, "enabled")}>
                    {t("enable")}
                  </button>
                ) : (
                  <button type="button" class="danger" onClick={() => setStatus(user, "disabled")}>
                    {t("disable")}
                  </button>
                ))}
            </td>
          </tr>
        ))}
      </Table>
      <Pager page={page} size={SIZE} total={users.data?.total ?? 0} onPage={setPage} />
      {editing && (
        <Dialog
          title={
            "user" in editing
              ? `${t(TITLES[editing.kind])} · ${displayName(editing.user)}`
              : t(TITLES[editing.kind])
          }
          onClose={() => setEditing(null)}
        >
          <UserForm
            editing={editing}
            onDone={(text, accessToken) => {
              setEditing(null);
              if (!text) return;
              setNotice(text);
              if (accessToken) setToken(accessToken);
              users.reload();
            }}
          />
        </Dialog>
      )}
      {token && (
        <Dialog title={t("token_label")} onClose={() => setToken("")}>
          <p class="warning" role="alert">
            {t("token_once")}
          </p>
          <SecretField label={t("token_label")} value={token} />
          <div class="buttons">
            <button type="button" class="primary" onClick={() => setToken("")}>
              {t("done")}
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}
