import { useState } from "preact/hooks";
import { put } from "../../../api";
import { Card, ErrorText, Field, Notice, useAction } from "../../../components/ui";
import { t } from "../../../i18n";
import { fieldLabel } from "./labels";

/** A section as GET /api/site/sections/<name> answers it. */
export interface SectionAnswer {
  name: string;
  version: number;
  fields: Record<string, unknown>;
}

/**
 * Any section's settings, from its admin view alone (labelled by labels.ts): a yes/no for a boolean, a number for a
 * number, JSON for a list or per-language text, else text; a secret (`<name>_set`) is a
 * write-only input that only says whether one is saved, with "clear" to remove it. Each field
 * is saved on its own, with the version the page read, so two admins' changes to different
 * fields do not undo each other and a stale page is refused (409) rather than overwriting.
 */
export function SectionForm(props: { section: SectionAnswer; onSaved: () => void }) {
  const { section } = props;
  const entries = Object.entries(section.fields);
  const secrets = entries.filter(([k, v]) => k.endsWith("_set") && typeof v === "boolean");
  const plain = entries.filter(([k]) => !secrets.some(([s]) => s === k));
  return (
    <Card class="narrow" testId={`section-${section.name}`}>
      {plain.map(([name, value]) => (
        <FieldRow key={name} {...props} name={name} value={value} />
      ))}
      {secrets.map(([name, saved]) => (
        <SecretRow
          key={name}
          {...props}
          name={name.slice(0, -"_set".length)}
          saved={saved === true}
        />
      ))}
    </Card>
  );
}

function useSave(props: { section: SectionAnswer; onSaved: () => void }) {
  const action = useAction();
  const [notice, setNotice] = useState("");
  const save = (name: string, value: unknown) => {
    setNotice("");
    action.run(async () => {
      await put(`/api/site/sections/${props.section.name}`, {
        [name]: value,
        version: props.section.version,
      });
      setNotice(t("saved"));
      props.onSaved();
    });
  };
  return { action, notice, save };
}

function FieldRow(props: {
  section: SectionAnswer;
  onSaved: () => void;
  name: string;
  value: unknown;
}) {
  const { name, value } = props;
  const { action, notice, save } = useSave(props);
  const json = value !== null && typeof value === "object";
  const [text, setText] = useState(
    json ? JSON.stringify(value, null, 2) : value === null ? "" : String(value),
  );
  const [checked, setChecked] = useState(value === true);
  const submit = (e: Event) => {
    e.preventDefault();
    if (typeof value === "boolean") return save(name, checked);
    if (typeof value === "number") return save(name, text.trim() === "" ? null : Number(text));
    if (json) {
      try {
        return save(name, text.trim() === "" ? null : JSON.parse(text));
      } catch {
        return action.setError(t("settings_json_invalid"));
      }
    }
    return save(name, text);
  };
  return (
    <form class="setting-row" onSubmit={submit}>
      {typeof value === "boolean" ? (
        <label class="check">
          <input
            type="checkbox"
            checked={checked}
            onChange={(e) => setChecked(e.currentTarget.checked)}
          />{" "}
          {fieldLabel(props.section.name, name)}
        </label>
      ) : (
        <Field label={fieldLabel(props.section.name, name)}>
          {json ? (
            <textarea rows={4} value={text} onInput={(e) => setText(e.currentTarget.value)} />
          ) : (
            <input
              inputMode={typeof value === "number" ? "decimal" : undefined}
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
            />
          )}
        </Field>
      )}
      <ErrorText error={action.error} />
      <Notice text={notice} />
      <button type="submit" disabled={action.busy}>
        {t("save")}
      </button>
    </form>
  );
}

function SecretRow(props: {
  section: SectionAnswer;
  onSaved: () => void;
  name: string;
  saved: boolean;
}) {
  const { name, saved } = props;
  const { action, notice, save } = useSave(props);
  const [text, setText] = useState("");
  return (
    <form
      class="setting-row"
      onSubmit={(e) => {
        e.preventDefault();
        if (text) save(name, text);
      }}
    >
      <Field
        label={fieldLabel(props.section.name, name)}
        hint={saved ? t("settings_secret_saved") : t("settings_secret_not_saved")}
      >
        <input
          type="password"
          autoComplete="off"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
      </Field>
      <ErrorText error={action.error} />
      <Notice text={notice} />
      <span class="buttons">
        <button type="submit" disabled={action.busy || !text}>
          {t("settings_secret_set")}
        </button>
        {saved && (
          <button type="button" disabled={action.busy} onClick={() => save(name, "")}>
            {t("settings_secret_clear")}
          </button>
        )}
      </span>
    </form>
  );
}
