import { type ComponentChildren, cloneElement, type VNode } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { type Key, locale, t } from "../i18n";
import { translate } from "../messages/translate";
import { usd } from "../money";
import { siteName, siteStatus } from "../site-status";
import { store } from "../store";

/**
 * What a form or page shows went wrong: a sentence already in the reader's language, or an
 * error, worded each time it is shown, so a language switch re-words errors on screen.
 */
export type Shown = string | Error;

/**
 * What went wrong, for a person, in the current language: the API's message by its code
 * (else its English), or that the network failed.
 */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message ? translate(error) : t("err_network");
  if (error instanceof Error) return error.message;
  return String(error);
}

const shown = (err: unknown): Shown => (err instanceof Error ? err : String(err));

/** A form's fields by name (text inputs; a checked checkbox is "on"). */
export function formFields(event: Event): Record<string, string> {
  event.preventDefault();
  const fields: Record<string, string> = {};
  new FormData(event.currentTarget as HTMLFormElement).forEach((value, name) => {
    if (typeof value === "string") fields[name] = value.trim();
  });
  return fields;
}

/** Runs a form's async action: busy while it runs, its error kept for display. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Shown>("");
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError("");
    try {
      await action();
    } catch (err) {
      setError(shown(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

export interface Loaded<T> {
  data?: T;
  error: Shown;
  loading: boolean;
  reload(): void;
}

/** Loads data for a page, again whenever `deps` change or `reload()` is called. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error: Shown; loading: boolean }>({
    error: "",
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: "", loading: false }),
      (err) => live && setState((s) => ({ ...s, error: shown(err), loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

/** A labelled control; the hint stays out of the label and describes the control. */
export function Field(props: { label: string; hint?: string; children: VNode }) {
  const id = useId();
  return (
    <div class="field">
      {/* biome-ignore lint/a11y/noLabelWithoutControl: the control is the child passed in. */}
      <label>
        <span class="field-label">{props.label}</span>
        {props.hint ? cloneElement(props.children, { "aria-describedby": id }) : props.children}
      </label>
      {props.hint && (
        <small id={id} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

export function Check(props: {
  label: string;
  name?: string;
  checked?: boolean;
  onChange?: (checked: boolean) => void;
}) {
  return (
    <label class="check">
      <input
        type="checkbox"
        name={props.name}
        checked={props.checked}
        onChange={(e) => props.onChange?.(e.currentTarget.checked)}
      />
      <span>{props.label}</span>
    </label>
  );
}

export function ErrorText(props: { error?: Shown }) {
  return props.error ? (
    <p class="error" role="alert">
      {errorText(props.error)}
    </p>
  ) : null;
}

export function Notice(props: { text?: string }) {
  return props.text ? (
    <p class="notice" role="status">
      {props.text}
    </p>
  ) : null;
}

export function Loading(props: { loaded: Loaded<unknown> }) {
  if (props.loaded.error) return <ErrorText error={props.loaded.error} />;
  if (props.loaded.loading && props.loaded.data === undefined)
    return <p class="muted">{t("loading")}</p>;
  return null;
}

export function PageHead(props: { title: string; children?: ComponentChildren }) {
  const name = siteName(siteStatus.use());
  useEffect(() => {
    // The home page's title is the site's name itself: not "Name · Name".
    document.title = props.title === name ? name : `${props.title} · ${name}`;
  }, [props.title, name]);
  return (
    <div class="page-head">
      <h1>{props.title}</h1>
      {props.children && <div class="actions">{props.children}</div>}
    </div>
  );
}

export function Card(props: {
  title?: string;
  children: ComponentChildren;
  class?: string;
  testId?: string;
}) {
  return (
    <section class={`card ${props.class ?? ""}`} data-testid={props.testId}>
      {props.title && <h2>{props.title}</h2>}
      {props.children}
    </section>
  );
}

/** A modal dialog: open while mounted; Escape, the close button or onClose closes it. */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const dialog = ref.current;
    dialog?.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={id} onClose={props.onClose}>
      <div class="dialog-head">
        <h2 id={id}>{props.title}</h2>
        <button type="button" class="icon" aria-label={t("close")} onClick={props.onClose}>
          ×
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

const confirmation = store<{ message: string; answer: (yes: boolean) => void } | null>(null);

/** Asks a yes/no question in a dialog of the console's own (translated buttons). */
export function ask(message: string): Promise<boolean> {
  return new Promise((answer) => confirmation.set({ message, answer }));
}

export function ConfirmHost() {
  const current = confirmation.use();
  if (!current) return null;
  const done = (yes: boolean) => {
    confirmation.set(null);
    current.answer(yes);
  };
  return (
    <Dialog title={t("confirm_title")} onClose={() => done(false)}>
      <p>{current.message}</p>
      <div class="buttons">
        <button type="button" onClick={() => done(false)}>
          {t("cancel")}
        </button>
        <button type="button" class="danger" onClick={() => done(true)}>
          {t("confirm")}
        </button>
      </div>
    </Dialog>
  );
}

const passwordPrompt = store<{ answer: (password: string | null) => void } | null>(null);

/** Asks for the signed-in user's password in a dialog; null when they cancel. */
export function askPassword(): Promise<string | null> {
  return new Promise((answer) => passwordPrompt.set({ answer }));
}

/** The dialog askPassword opens: why the password is asked for, and the field. */
export function PasswordPromptHost() {
  const current = passwordPrompt.use();
  if (!current) return null;
  const done = (password: string | null) => {
    passwordPrompt.set(null);
    current.answer(password);
  };
  return (
    <Dialog title={t("reauth_title")} onClose={() => done(null)}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const input = (e.currentTarget as HTMLFormElement).elements.namedItem("password");
          done((input as HTMLInputElement).value);
        }}
      >
        <p>{t("reauth_text")}</p>
        <Field label={t("reauth_password")}>
          <input name="password" type="password" autoComplete="current-password" required />
        </Field>
        <div class="buttons">
          <button type="button" onClick={() => done(null)}>
            {t("cancel")}
          </button>
          <button type="submit" class="primary">
            {t("reauth_submit")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Copies text; when the clipboard API is refused, selects `fallback` so Ctrl+C works. */
async function copy(text: string, fallback: HTMLInputElement | HTMLTextAreaElement | null) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!fallback) return false;
    fallback.focus();
    fallback.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
}

export function CopyButton(props: {
  text: string;
  target?: { current: HTMLInputElement | HTMLTextAreaElement | null };
  label?: string;
}) {
  const [state, setState] = useState<"" | "copied" | "manual">("");
  return (
    <span class="copy">
      <button
        type="button"
        onClick={async () =>
          setState((await copy(props.text, props.target?.current ?? null)) ? "copied" : "manual")
        }
      >
        {props.label ?? t("copy")}
      </button>
      <span class="muted" role="status">
        {state === "copied" ? t("copied") : state === "manual" ? t("copy_manual") : ""}
      </span>
    </span>
  );
}

/** A secret shown once: a read-only field to select, a copy button and the warning. */
export function SecretField(props: { label: string; value: string; multiline?: boolean }) {
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  return (
    <div class="secret">
      <Field label={props.label}>
        {props.multiline ? (
          <textarea ref={ref} readOnly rows={6} value={props.value} class="mono" />
        ) : (
          <input ref={ref} readOnly value={props.value} class="mono" />
        )}
      </Field>
      <CopyButton text={props.value} target={ref} />
    </div>
  );
}

export function Money(props: { units: number; units2?: boolean }) {
  return (
    <span class="money">
      {usd(props.units)}
      {props.units2 !== false && (
        <small class="units">
          {props.units.toLocaleString(locale())} {t("units")}
        </small>
      )}
    </span>
  );
}

export function Badge(props: { value: string; label: string }) {
  return <span class={`badge badge-${props.value}`}>{props.label}</span>;
}

/** A label for an API value (status, outcome…), or the value itself when unknown. */
export function label(map: Record<string, Key>, value: string | null | undefined): string {
  if (!value) return "—";
  const key = map[value];
  return key ? t(key) : value;
}

export const STATUS: Record<string, Key> = {
  enabled: "status_enabled",
  disabled: "status_disabled",
  expired: "status_expired",
  exhausted: "status_exhausted",
  used: "status_used",
};

export const BUCKET: Record<string, Key> = {
  free: "bucket_free",
  bonus: "bucket_bonus",
  paid: "bucket_paid",
};

/** Local date and time of unix seconds. */
export function dateTime(seconds: number | null | undefined): string {
  if (!seconds || seconds <= 0) return "—";
  return new Date(seconds * 1000).toLocaleString(locale(), {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
}

/** A column's heading; `class` goes on its `th` (e.g. `col-more`: shown on wide screens only). */
export type Column = string | { label: string; class?: string };

/**
 * A table in a frame that scrolls sideways only if it must (a phone). `testId` names it for
 * the tests (a page's landmark: routes.ts).
 */
export function Table(props: {
  head: Column[];
  children: ComponentChildren;
  empty?: boolean;
  testId?: string;
}) {
  return (
    <div class="table-wrap" data-testid={props.testId}>
      <table>
        <thead>
          <tr>
            {props.head.map((h) => {
              const column = typeof h === "string" ? { label: h } : h;
              return (
                <th key={column.label} scope="col" class={column.class}>
                  {column.label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {props.empty ? (
            <tr>
              <td colSpan={props.head.length} class="muted">
                {t("empty")}
              </td>
            </tr>
          ) : (
            props.children
          )}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Previous and next for a list read in cursor pages: `cursors` are the cursors of the pages
 * before this one (none on the first), `next` the list's `next_cursor` (none on the last).
 */
export function CursorPager(props: {
  cursors: string[];
  next?: string | null;
  onCursors(cursors: string[]): void;
}) {
  const { cursors, next, onCursors } = props;
  return (
    <nav class="pager" aria-label={t("pages")}>
      <button
        type="button"
        disabled={cursors.length === 0}
        onClick={() => onCursors(cursors.slice(0, -1))}
      >
        {t("prev")}
      </button>
      <span>{t("page_n", { page: cursors.length + 1 })}</span>
      <button type="button" disabled={!next} onClick={() => next && onCursors([...cursors, next])}>
        {t("next")}
      </button>
    </nav>
  );
}

/** Page numbers for one-api's `p`/`size` lists with a `total`. */
export function Pager(props: {
  page: number;
  size: number;
  total: number;
  onPage(p: number): void;
}) {
  const pages = Math.max(1, Math.ceil(props.total / props.size));
  if (pages <= 1) return null;
  return (
    <nav class="pager" aria-label={t("pages")}>
      <button type="button" disabled={props.page <= 0} onClick={() => props.onPage(props.page - 1)}>
        {t("prev")}
      </button>
      <span>{t("page_of", { page: props.page + 1, pages })}</span>
      <button
        type="button"
        disabled={props.page + 1 >= pages}
        onClick={() => props.onPage(props.page + 1)}
      >
        {t("next")}
      </button>
    </nav>
  );
}
