import { useState } from "preact/hooks";
import { post } from "../../api";
import { Dialog, ErrorText, Field, useAction } from "../../components/ui";
import { t } from "../../i18n";

type Format = "new-api" | "litellm";

/** What POST /api/pricing/import answers: the diff, and whether it was saved. */
interface ImportDiff {
  saved: boolean;
  version: number;
  /** What the diff was made against (the prices it changes): the import is saved only on it. */
  basis: string;
  summary: {
    added: number;
    changed: number;
    unchanged: number;
    skipped: number;
    untouched: number;
  };
  models: {
    model: string;
    status: "added" | "changed" | "unchanged";
    changes: { field: string; old: unknown; new: unknown }[];
    notes?: string[];
  }[];
  groups: { group: string; old: number | null; new: number }[];
  skipped: { model: string; reason: string }[];
  remarks: string[];
}

/** Rows of a diff shown at most: an import of a whole price map lists thousands. */
const MOST_ROWS = 300;

const shown = (value: unknown) => (value === null ? "—" : String(value));

/**
 * Prices from another gateway's data: paste or upload new-api's ratio export or LiteLLM's price
 * map, see what it would change (a dry run), and import it on the prices previewed.
 */
export function ImportDialog(props: { onClose: () => void; onImported: () => void }) {
  const [format, setFormat] = useState<Format>("new-api");
  const [data, setData] = useState("");
  const [models, setModels] = useState("");
  const [diff, setDiff] = useState<ImportDiff | null>(null);
  const action = useAction();

  const body = () => {
    const chosen = models.split(/[\s,]+/).filter(Boolean);
    return { format, data, ...(chosen.length > 0 ? { models: chosen } : {}) };
  };
  // Anything edited after a preview needs a new one before it can be imported.
  const edited =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setDiff(null);
    };
  const preview = () =>
    action.run(async () => {
      if (!data.trim()) return action.setError(t("import_data_missing"));
      setDiff((await post<ImportDiff>("/api/pricing/import", { ...body(), dry_run: true })).data);
    });
  const save = () =>
    action.run(async () => {
      if (!diff) return;
      await post<ImportDiff>("/api/pricing/import", { ...body(), basis: diff.basis });
      props.onImported();
    });
  const upload = async (file: File | undefined) => {
    if (!file) return;
    edited(setData)(await file.text());
  };

  const rows = diff?.models.filter((m) => m.status !== "unchanged") ?? [];
  return (
    <Dialog title={t("import_title")} onClose={props.onClose}>
      <p class="muted small">{t("import_intro")}</p>
      <div class="grid2">
        <Field label={t("import_format")}>
          <select
            value={format}
            onChange={(e) => edited(setFormat)(e.currentTarget.value as Format)}
          >
            <option value="new-api">{t("import_format_newapi")}</option>
            <option value="litellm">{t("import_format_litellm")}</option>
          </select>
        </Field>
        <Field label={t("import_file")}>
          <input
            type="file"
            accept=".json,application/json"
            onChange={(e) => upload(e.currentTarget.files?.[0])}
          />
        </Field>
      </div>
      <Field label={t("import_data")}>
        <textarea
          rows={8}
          class="mono"
          value={data}
          placeholder={
            format === "new-api"
              ? '{"ModelRatio": {"gpt-4o": 1.25}, …}'
              : '{"gpt-4o": {"input_cost_per_token": 2.5e-06, …}}'
          }
          onInput={(e) => edited(setData)(e.currentTarget.value)}
        />
      </Field>
      <Field label={t("import_models")} hint={t("import_models_hint")}>
        <input value={models} onInput={(e) => edited(setModels)(e.currentTarget.value)} />
      </Field>
      <ErrorText error={action.error} />
      {diff && (
        <section aria-label={t("import_preview")} class="import-diff">
          <p role="status">{t("import_summary", diff.summary)}</p>
          {diff.remarks.map((remark) => (
            <p key={remark} class="muted small">
              {remark}
            </p>
          ))}
          {rows.length > 0 && (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("log_model")}</th>
                    <th scope="col">{t("import_status")}</th>
                    <th scope="col">{t("import_changes")}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.slice(0, MOST_ROWS).map((row) => (
                    <tr key={row.model}>
                      <td class="mono">{row.model}</td>
                      <td>{t(row.status === "added" ? "import_added" : "import_changed")}</td>
                      <td>
                        <ul class="changes">
                          {row.changes.map((change) => (
                            <li key={change.field}>
                              <span class="mono">{change.field}</span>: {shown(change.old)} →{" "}
                              {shown(change.new)}
                            </li>
                          ))}
                          {row.notes?.map((text) => (
                            <li key={text} class="muted small">
                              {text}
                            </li>
                          ))}
                        </ul>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {rows.length > MOST_ROWS && (
                <p class="muted small">{t("import_more", { count: rows.length - MOST_ROWS })}</p>
              )}
            </div>
          )}
          {diff.groups.length > 0 && (
            <ul aria-label={t("price_groups")}>
              {diff.groups.map((g) => (
                <li key={g.group}>
                  {t("group")} <span class="mono">{g.group}</span>: {shown(g.old)} → {g.new}
                </li>
              ))}
            </ul>
          )}
          {diff.skipped.length > 0 && (
            <details>
              <summary>{t("import_skipped", { count: diff.skipped.length })}</summary>
              <ul>
                {diff.skipped.slice(0, MOST_ROWS).map((skip) => (
                  <li key={skip.model}>
                    <span class="mono">{skip.model}</span>: {skip.reason}
                  </li>
                ))}
              </ul>
            </details>
          )}
        </section>
      )}
      <div class="buttons">
        <button type="button" disabled={action.busy} onClick={preview}>
          {t("import_preview_button")}
        </button>
        <button
          type="button"
          class="primary"
          disabled={!diff || action.busy || rows.length + diff.groups.length === 0}
          onClick={save}
        >
          {t("import_confirm")}
        </button>
      </div>
    </Dialog>
  );
}
