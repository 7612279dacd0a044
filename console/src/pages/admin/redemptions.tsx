import { useState } from "preact/hooks";
import { del, get, post, put, type Redemption } from "../../api";
import {
  ask,
  Badge,
  BUCKET,
  Card,
  CopyButton,
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
  Table,
  useAction,
  useLoad,
} from "../../components/ui";
import { type Key, t } from "../../i18n";
import { parseDollars } from "../../money";

const SIZE = 100;

const STATUS: Record<string, Key> = {
  enabled: "redemption_unused",
  disabled: "status_disabled",
  used: "status_used",
};

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `${name.replace(/[^\w.-]+/g, "_") || "codes"}.txt`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function CreateForm(props: { onCreated(name: string, codes: string[]): void }) {
  const action = useAction();
  return (
    <form
      class="filters"
      onSubmit={(e) => {
        const form = e.currentTarget;
        const f = formFields(e);
        const units = parseDollars(f.dollars ?? "");
        if (!units) return action.setError(t("invalid_dollars"));
        action.run(async () => {
          const { data } = await post<{ codes: string[] }>("/api/redemption/", {
            name: f.name,
            count: Number(f.count),
            quota: units,
            bucket: f.bucket,
          });
          form.reset();
          props.onCreated(f.name ?? "", data.codes);
        });
      }}
    >
      <Field label={t("redemption_name")}>
        <input name="name" required maxLength={64} />
      </Field>
      <Field label={t("redemption_count")}>
        <input name="count" type="number" min="1" max="100" step="1" required defaultValue="1" />
      </Field>
      <Field label={t("amount_usd")}>
        <input name="dollars" inputMode="decimal" required autoComplete="off" />
      </Field>
      <Field label={t("bucket")}>
        <select name="bucket">
          <option value="paid">{t("bucket_paid")}</option>
          <option value="bonus">{t("bucket_bonus")}</option>
        </select>
      </Field>
      <div class="buttons">
        <button type="submit" class="primary" disabled={action.busy}>
          {t("redemption_create")}
        </button>
      </div>
      <ErrorText error={action.error} />
    </form>
  );
}

export function Redemptions() {
  const [keyword, setKeyword] = useState("");
  const [page, setPage] = useState(0);
  const [created, setCreated] = useState<{ name: string; codes: string[] } | null>(null);
  const rowAction = useAction();
  const list = useLoad(
    () => get<Redemption[]>("/api/redemption/", { p: page, size: SIZE, keyword }),
    [page, keyword],
  );
  const rows = list.data?.data ?? [];

  const setStatus = (r: Redemption, status: "enabled" | "disabled") =>
    rowAction.run(async () => {
      await put(`/api/redemption/${r.id}`, { status });
      list.reload();
    });
  const remove = async (r: Redemption) => {
    if (!(await ask(t("redemption_delete_confirm", { name: r.name })))) return;
    await rowAction.run(async () => {
      await del(`/api/redemption/${r.id}`);
      list.reload();
    });
  };
  const codesText = created ? `${created.codes.join("\n")}\n` : "";

  return (
    <>
      <PageHead title={t("nav_admin_redemptions")} />
      <Card title={t("redemption_create")}>
        <CreateForm
          onCreated={(name, codes) => {
            setCreated({ name, codes });
            list.reload();
          }}
        />
      </Card>
      <form
        class="filters"
        onSubmit={(e) => {
          setKeyword(formFields(e).keyword ?? "");
          setPage(0);
        }}
      >
        <Field label={t("redemption_search")}>
          <input name="keyword" type="search" defaultValue={keyword} />
        </Field>
        <div class="buttons">
          <button type="submit" class="primary">
            {t("search")}
          </button>
        </div>
      </form>
      <Loading loaded={list} />
      <ErrorText error={rowAction.error} />
      <Table
        testId="redemptions-table"
        empty={list.data !== undefined && rows.length === 0}
        head={[
          t("redemption_name"),
          t("amount"),
          t("bucket"),
          t("status"),
          t("created_at"),
          t("redemption_used_by"),
          t("redemption_used_at"),
          t("actions"),
        ]}
      >
        {rows.map((r) => (
          <tr key={r.id}>
            <td class="name">
              {r.name}
              <small class="muted block mono">{r.id}</small>
            </td>
            <td>
              <Money units={r.quota} />
            </td>
            <td>{label(BUCKET, r.bucket)}</td>
            <td>
              <Badge
                value={r.status === "enabled" ? "unused" : r.status}
                label={label(STATUS, r.status)}
              />
            </td>
            <td>{dateTime(r.created_at)}</td>
            <td class="mono">{r.used_by || "—"}</td>
            <td>{dateTime(r.used_at)}</td>
            <td class="row-actions">
              {r.status === "enabled" && (
                <button type="button" onClick={() => setStatus(r, "disabled")}>
                  {t("disable")}
                </button>
              )}
              {r.status === "disabled" && (
                <button type="button" onClick={() => setStatus(r, "enabled")}>
                  {t("enable")}
                </button>
              )}
              <button type="button" class="danger" onClick={() => remove(r)}>
                {t("delete")}
              </button>
            </td>
          </tr>
        ))}
      </Table>
      {list.data?.total !== undefined ? (
        <Pager page={page} size={SIZE} total={list.data.total} onPage={setPage} />
      ) : (
        list.data?.has_more && <p class="muted">{t("redemption_more")}</p>
      )}
      {created && (
        <Dialog title={t("redemption_created_title")} onClose={() => setCreated(null)}>
          <p class="warning" role="alert">
            {t("redemption_created_warning", { n: created.codes.length })}
          </p>
          <Field label={t("redemption_codes")}>
            <textarea
              readOnly
              rows={Math.min(10, created.codes.length + 1)}
              class="mono"
              value={codesText}
            />
          </Field>
          <div class="buttons">
            <CopyButton text={codesText} label={t("copy_all")} />
            <button type="button" onClick={() => download(created.name, codesText)}>
              {t("download_txt")}
            </button>
            <button type="button" class="primary" onClick={() => setCreated(null)}>
              {t("done")}
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}
