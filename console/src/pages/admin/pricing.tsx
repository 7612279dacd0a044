import { useEffect, useState } from "preact/hooks";
import { get, patch } from "../../api";
import {
  Card,
  Check,
  Dialog,
  ErrorText,
  Field,
  Loading,
  Notice,
  PageHead,
  useAction,
  useLoad,
} from "../../components/ui";
import { type Key, t } from "../../i18n";
import { RATE_GROUPS, TOKEN_RATES } from "../../usage";
import { ImportDialog } from "./pricing-import";

interface Tier {
  above: number;
  basis: "whole" | "excess";
  rates: Record<string, number>;
}

/** A model's price as GET /api/pricing shows it (token rates by their API names). */
type ModelPrice = Record<string, number | boolean | string | unknown> & {
  image?: Record<string, Record<string, number>>;
  tiers?: Tier[];
  free?: boolean;
  bills_mapped_calls?: boolean;
  source?: string;
  as_of?: string;
};

interface Pricing {
  models: Record<string, ModelPrice>;
  groups: Record<string, number>;
  batch_discount?: number;
  group_batch_discounts?: Record<string, number>;
  default_max_tokens?: number;
  version?: number;
}

/** The other numbers of a price: not per token. */
const OTHER = [
  ["per_call", "price_per_call"],
  ["tts_per_million_chars", "price_tts"],
  ["stt_per_minute", "price_stt"],
  ["default_max_tokens", "price_max_tokens"],
  ["batch_discount", "price_batch_discount"],
] as const satisfies readonly (readonly [string, Key])[];

/** Every number a model row edits, by its API name. */
const NUMBER_FIELDS = [...TOKEN_RATES.map(([field]) => field), ...OTHER.map(([field]) => field)];

/** The rates the table shows; the rest are in the model's dialog. */
const IN_TABLE = [
  ["input", "price_input"],
  ["output", "price_output"],
  ["cached_input", "price_cached_input"],
] as const satisfies readonly (readonly [string, Key])[];

type TierRow = { above: string; basis: "whole" | "excess"; rates: Record<string, string> };
type ModelRow = {
  name: string;
  free: boolean;
  /** Its price bills the calls a channel maps to another model (not the upstream's). */
  billsMapped: boolean;
  image: string;
  source: string;
  asOf: string;
  numbers: Record<string, string>;
  tiers: TierRow[];
};
type GroupRow = { name: string; multiplier: string; discount: string };

const text = (value: unknown) => (typeof value === "number" ? String(value) : "");

function emptyModel(name: string): ModelRow {
  return {
    name,
    free: false,
    billsMapped: false,
    image: "",
    source: "",
    asOf: "",
    numbers: {},
    tiers: [],
  };
}

function toRows(pricing: Pricing) {
  const models: ModelRow[] = Object.entries(pricing.models)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, p]) => ({
      name,
      free: p.free === true,
      billsMapped: p.bills_mapped_calls === true,
      image: p.image ? JSON.stringify(p.image) : "",
      source: p.source ?? "",
      asOf: p.as_of ?? "",
      numbers: Object.fromEntries(NUMBER_FIELDS.map((f) => [f, text(p[f])])),
      tiers: (p.tiers ?? []).map((tier) => ({
        above: String(tier.above),
        basis: tier.basis,
        rates: Object.fromEntries(TOKEN_RATES.map(([f]) => [f, text(tier.rates[f])])),
      })),
    }));
  const discounts = pricing.group_batch_discounts ?? {};
  const groups: GroupRow[] = [
    ...new Set([...Object.keys(pricing.groups), ...Object.keys(discounts)]),
  ]
    .sort()
    .map((name) => ({
      name,
      multiplier: text(pricing.groups[name]),
      discount: text(discounts[name]),
    }));
  return {
    models,
    groups,
    batchDiscount: text(pricing.batch_discount),
    maxTokens: text(pricing.default_max_tokens),
    version: pricing.version,
  };
}

class Invalid extends Error {}

function number(value: string | undefined, what: string): number | undefined {
  if (!value?.trim()) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Invalid(t("price_invalid_number", { what }));
  return n;
}

/** A label of every number a row edits, for error messages. */
const LABELS: Record<string, Key> = Object.fromEntries([...TOKEN_RATES, ...OTHER]);

function priceOf(row: ModelRow, name: string): ModelPrice {
  const price: ModelPrice = {};
  for (const field of NUMBER_FIELDS) {
    const value = number(row.numbers[field], `${name} · ${t(LABELS[field] as Key)}`);
    if (value !== undefined) price[field] = value;
  }
  if (row.free) price.free = true;
  if (row.billsMapped) price.bills_mapped_calls = true;
  if (row.image.trim()) {
    try {
      price.image = JSON.parse(row.image);
    } catch {
      throw new Invalid(t("price_image_invalid", { name }));
    }
  }
  if (row.tiers.length > 0) {
    price.tiers = row.tiers.map((tier, i) => {
      const what = `${name} · ${t("price_tier_n", { n: i + 1 })}`;
      const above = Number(tier.above);
      if (!Number.isInteger(above) || above < 1)
        throw new Invalid(t("price_tier_above_invalid", { what }));
      const rates: Record<string, number> = {};
      for (const [field, key] of TOKEN_RATES) {
        const value = number(tier.rates[field], `${what} · ${t(key)}`);
        if (value !== undefined) rates[field] = value;
      }
      return { above, basis: tier.basis, rates };
    });
  }
  if (row.source.trim()) price.source = row.source.trim();
  if (row.asOf) price.as_of = row.asOf;
  return price;
}

/**
 * What the editor changed since `base` (the list as read or last saved), as the body of PATCH
 * /api/pricing: the models changed (null: removed), each with its price as read (`expected`:
 * another admin's change since is refused, not overwritten), and the other sections that
 * changed. Models the editor left alone are not sent, so admins editing different models never
 * undo each other.
 */
function changesSince(state: ReturnType<typeof toRows>, base: Pricing): Record<string, unknown> {
  const now = toBody(state);
  const was = toBody(toRows(base));
  const models: Record<string, ModelPrice | null> = {};
  const expected: Record<string, ModelPrice | null> = {};
  const names = new Set([...Object.keys(now.models), ...Object.keys(was.models)]);
  for (const name of names) {
    const price = now.models[name] ?? null;
    if (sameJson(price, was.models[name] ?? null)) continue;
    models[name] = price;
    expected[name] = base.models[name] ?? null;
  }
  const body: Record<string, unknown> = { models, expected };
  for (const section of SECTIONS)
    if (!sameJson(now[section], was[section])) body[section] = now[section];
  return body;
}

/** The price list's sections besides the models, each saved when it changed. */
const SECTIONS = [
  "groups",
  "group_batch_discounts",
  "batch_discount",
  "default_max_tokens",
] as const;

/** Equal as JSON values, whatever the order of object keys. */
function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
        )
      : Array.isArray(value)
        ? value.map(canonical)
        : value;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** The editor's rows as the price list's sections. */
function toBody(state: ReturnType<typeof toRows>) {
  const models: Record<string, ModelPrice> = {};
  for (const row of state.models) {
    const name = row.name.trim();
    if (!name) throw new Invalid(t("price_model_name_missing"));
    if (models[name]) throw new Invalid(t("price_model_duplicate", { name }));
    models[name] = priceOf(row, name);
  }
  const groups: Record<string, number> = {};
  const discounts: Record<string, number> = {};
  for (const row of state.groups) {
    const name = row.name.trim();
    if (!name) continue;
    const multiplier = number(row.multiplier, `${name} · ${t("price_multiplier")}`);
    const discount = number(row.discount, `${name} · ${t("price_batch_discount")}`);
    if (multiplier !== undefined) groups[name] = multiplier;
    if (discount !== undefined) discounts[name] = discount;
  }
  return {
    models,
    groups,
    group_batch_discounts: discounts,
    batch_discount: number(state.batchDiscount, t("price_batch_discount")),
    default_max_tokens: number(state.maxTokens, t("price_max_tokens")),
  };
}

/** How many of a row's numbers are set besides the table's, and its tiers: the dialog's button says. */
function extras(row: ModelRow): number {
  const shown = new Set<string>(IN_TABLE.map(([field]) => field));
  return (
    NUMBER_FIELDS.filter((f) => !shown.has(f) && row.numbers[f]?.trim()).length +
    row.tiers.length +
    (row.image.trim() ? 1 : 0) +
    (row.billsMapped ? 1 : 0)
  );
}

/** A number input of the model dialog. */
function NumberField(props: {
  label: string;
  value: string | undefined;
  onInput: (value: string) => void;
}) {
  return (
    <Field label={props.label}>
      <input
        inputMode="decimal"
        value={props.value ?? ""}
        onInput={(e) => props.onInput(e.currentTarget.value)}
        class="num-input"
      />
    </Field>
  );
}

/**
 * Every rate of one model, grouped (text, cache, audio, image, other), its long-context tiers,
 * and where and when its price was read. Edits go to the page's rows; Save sends them.
 */
function ModelDialog(props: {
  row: ModelRow;
  onChange: (change: Partial<ModelRow>) => void;
  onClose: () => void;
}) {
  const { row, onChange } = props;
  const setNumber = (field: string, value: string) =>
    onChange({ numbers: { ...row.numbers, [field]: value } });
  const setTier = (index: number, change: Partial<TierRow>) =>
    onChange({ tiers: row.tiers.map((tier, i) => (i === index ? { ...tier, ...change } : tier)) });
  return (
    <Dialog title={t("price_model_title", { name: row.name })} onClose={props.onClose}>
      <p class="muted small">{t("price_rates_hint")}</p>
      {RATE_GROUPS.map((group) => (
        <fieldset key={group.title}>
          <legend>{t(group.title)}</legend>
          <div class="grid3">
            {group.rates.map(([field, key]) => (
              <NumberField
                key={field}
                label={t(key)}
                value={row.numbers[field]}
                onInput={(value) => setNumber(field, value)}
              />
            ))}
          </div>
          {group.title === "rates_image" && (
            <Field label={t("price_image")}>
              <input
                value={row.image}
                placeholder='{"1024x1024":{"standard":0.04}}'
                onInput={(e) => onChange({ image: e.currentTarget.value })}
                class="mono"
              />
            </Field>
          )}
        </fieldset>
      ))}
      <fieldset>
        <legend>{t("rates_other")}</legend>
        <div class="grid3">
          {OTHER.map(([field, key]) => (
            <NumberField
              key={field}
              label={t(key)}
              value={row.numbers[field]}
              onInput={(value) => setNumber(field, value)}
            />
          ))}
        </div>
        <Check
          label={t("price_bills_mapped")}
          checked={row.billsMapped}
          onChange={(checked) => onChange({ billsMapped: checked })}
        />
        <p class="muted small">{t("price_bills_mapped_hint")}</p>
      </fieldset>
      <fieldset>
        <legend>{t("price_tiers")}</legend>
        <p class="muted small">{t("price_tiers_hint")}</p>
        {row.tiers.map((tier, i) => {
          const name = t("price_tier_n", { n: i + 1 });
          return (
            <div key={i} class="tier">
              <div class="grid3">
                <Field label={`${name} · ${t("price_tier_above")}`}>
                  <input
                    inputMode="numeric"
                    value={tier.above}
                    onInput={(e) => setTier(i, { above: e.currentTarget.value })}
                  />
                </Field>
                <Field label={`${name} · ${t("price_tier_basis")}`}>
                  <select
                    value={tier.basis}
                    onChange={(e) =>
                      setTier(i, { basis: e.currentTarget.value as TierRow["basis"] })
                    }
                  >
                    <option value="whole">{t("price_basis_whole")}</option>
                    <option value="excess">{t("price_basis_excess")}</option>
                  </select>
                </Field>
              </div>
              <div class="grid3">
                {TOKEN_RATES.map(([field, key]) => (
                  <NumberField
                    key={field}
                    label={`${name} · ${t(key)}`}
                    value={tier.rates[field]}
                    onInput={(value) => setTier(i, { rates: { ...tier.rates, [field]: value } })}
                  />
                ))}
              </div>
              <button
                type="button"
                class="danger"
                onClick={() => onChange({ tiers: row.tiers.filter((_, j) => j !== i) })}
              >
                {t("price_remove_tier", { name })}
              </button>
            </div>
          );
        })}
        <button
          type="button"
          onClick={() =>
            onChange({ tiers: [...row.tiers, { above: "", basis: "whole", rates: {} }] })
          }
        >
          {t("price_add_tier")}
        </button>
      </fieldset>
      <fieldset>
        <legend>{t("price_provenance")}</legend>
        <div class="grid2">
          <Field label={t("price_source")}>
            <input
              value={row.source}
              placeholder="https://openai.com/api/pricing/"
              onInput={(e) => onChange({ source: e.currentTarget.value })}
            />
          </Field>
          <Field label={t("price_as_of")}>
            <input
              type="date"
              value={row.asOf}
              onInput={(e) => onChange({ asOf: e.currentTarget.value })}
            />
          </Field>
        </div>
      </fieldset>
      <div class="buttons">
        <button type="button" class="primary" onClick={props.onClose}>
          {t("done")}
        </button>
      </div>
    </Dialog>
  );
}

export function PricingPage() {
  const loaded = useLoad(async () => (await get<Pricing>("/api/pricing")).data, []);
  const [state, setState] = useState<ReturnType<typeof toRows> | null>(null);
  /** The list as last read or saved: what a save sends the changes since. */
  const [base, setBase] = useState<Pricing | null>(null);
  const [filter, setFilter] = useState("");
  const [notice, setNotice] = useState("");
  /** The model row whose every rate is open in a dialog. */
  const [editing, setEditing] = useState<number | null>(null);
  const [importing, setImporting] = useState(false);
  const action = useAction();
  useEffect(() => {
    if (!loaded.data) return;
    setBase(loaded.data);
    setState(toRows(loaded.data));
  }, [loaded.data]);

  const setModel = (index: number, change: Partial<ModelRow>) =>
    setState(
      (s) => s && { ...s, models: s.models.map((m, i) => (i === index ? { ...m, ...change } : m)) },
    );
  const setGroup = (index: number, change: Partial<GroupRow>) =>
    setState(
      (s) => s && { ...s, groups: s.groups.map((g, i) => (i === index ? { ...g, ...change } : g)) },
    );

  const save = () =>
    action.run(async () => {
      if (!state || !base) return;
      setNotice("");
      let body: Record<string, unknown>;
      try {
        body = changesSince(state, base);
      } catch (err) {
        if (err instanceof Invalid) return action.setError(err.message);
        throw err;
      }
      const { data } = await patch<Pricing>("/api/pricing", body);
      setEditing(null);
      setBase(data);
      setState(toRows(data));
      setNotice(t("saved"));
    });

  const needle = filter.trim().toLowerCase();
  return (
    <>
      <PageHead title={t("nav_admin_pricing")}>
        <button type="button" onClick={() => loaded.reload()}>
          {t("reload")}
        </button>
        <button type="button" onClick={() => setImporting(true)}>
          {t("price_import")}
        </button>
        <button type="button" class="primary" disabled={!state || action.busy} onClick={save}>
          {t("save")}
        </button>
      </PageHead>
      <Loading loaded={loaded} />
      <ErrorText error={action.error} />
      <Notice text={notice} />
      {importing && (
        <ImportDialog
          onClose={() => setImporting(false)}
          onImported={() => {
            setImporting(false);
            setNotice(t("import_done"));
            loaded.reload();
          }}
        />
      )}
      {state && editing !== null && state.models[editing] && (
        <ModelDialog
          row={state.models[editing]}
          onChange={(change) => setModel(editing, change)}
          onClose={() => setEditing(null)}
        />
      )}
      {state && (
        <>
          <Card title={t("price_models")}>
            <p class="muted">{t("price_models_intro")}</p>
            <div class="filters">
              <Field label={t("price_filter")}>
                <input
                  type="search"
                  value={filter}
                  onInput={(e) => setFilter(e.currentTarget.value)}
                />
              </Field>
            </div>
            <div class="table-wrap" data-testid="pricing-table">
              <table class="edit-table">
                <thead>
                  <tr>
                    <th scope="col">{t("log_model")}</th>
                    {IN_TABLE.map(([f, key]) => (
                      <th key={f} scope="col">
                        {t(key)}
                      </th>
                    ))}
                    <th scope="col">{t("price_more")}</th>
                    <th scope="col">{t("price_as_of")}</th>
                    <th scope="col">{t("price_free")}</th>
                    <th scope="col">
                      <span class="sr-only">{t("actions")}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {state.models.map((row, i) =>
                    needle && !row.name.toLowerCase().includes(needle) ? null : (
                      <tr key={i}>
                        <td>
                          <input
                            aria-label={t("log_model")}
                            value={row.name}
                            onInput={(e) => setModel(i, { name: e.currentTarget.value })}
                            class="mono"
                          />
                        </td>
                        {IN_TABLE.map(([f, key]) => (
                          <td key={f}>
                            <input
                              aria-label={`${row.name} · ${t(key)}`}
                              inputMode="decimal"
                              value={row.numbers[f] ?? ""}
                              onInput={(e) =>
                                setModel(i, {
                                  numbers: { ...row.numbers, [f]: e.currentTarget.value },
                                })
                              }
                              class="num-input"
                            />
                          </td>
                        ))}
                        <td>
                          <button
                            type="button"
                            aria-label={t("price_edit_rates", { name: row.name })}
                            onClick={() => setEditing(i)}
                          >
                            {t("price_rates_button", { count: extras(row) })}
                          </button>
                        </td>
                        <td class="muted small">{row.asOf || "—"}</td>
                        <td>
                          <input
                            type="checkbox"
                            aria-label={`${row.name} · ${t("price_free")}`}
                            checked={row.free}
                            onChange={(e) => setModel(i, { free: e.currentTarget.checked })}
                          />
                        </td>
                        <td>
                          <button
                            type="button"
                            class="danger"
                            onClick={() =>
                              setState({ ...state, models: state.models.filter((_, j) => j !== i) })
                            }
                          >
                            {t("remove")}
                          </button>
                        </td>
                      </tr>
                    ),
                  )}
                </tbody>
              </table>
            </div>
            <button
              type="button"
              onClick={() =>
                setState({
                  ...state,
                  models: [...state.models, emptyModel(needle)],
                })
              }
            >
              {t("price_add_model")}
            </button>
          </Card>
          <Card title={t("price_groups")}>
            <p class="muted">{t("price_groups_intro")}</p>
            <div class="table-wrap">
              <table class="edit-table">
                <thead>
                  <tr>
                    <th scope="col">{t("group")}</th>
                    <th scope="col">{t("price_multiplier")}</th>
                    <th scope="col">{t("price_batch_discount")}</th>
                    <th scope="col">
                      <span class="sr-only">{t("actions")}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {state.groups.map((row, i) => (
                    <tr key={i}>
                      <td>
                        <input
                          aria-label={t("group")}
                          value={row.name}
                          onInput={(e) => setGroup(i, { name: e.currentTarget.value })}
                        />
                      </td>
                      <td>
                        <input
                          aria-label={`${row.name} · ${t("price_multiplier")}`}
                          inputMode="decimal"
                          value={row.multiplier}
                          onInput={(e) => setGroup(i, { multiplier: e.currentTarget.value })}
                          class="num-input"
                        />
                      </td>
                      <td>
                        <input
                          aria-label={`${row.name} · ${t("price_batch_discount")}`}
                          inputMode="decimal"
                          value={row.discount}
                          onInput={(e) => setGroup(i, { discount: e.currentTarget.value })}
                          class="num-input"
                        />
                      </td>
                      <td>
                        <button
                          type="button"
                          class="danger"
                          onClick={() =>
                            setState({ ...state, groups: state.groups.filter((_, j) => j !== i) })
                          }
                        >
                          {t("remove")}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <button
              type="button"
              onClick={() =>
                setState({
                  ...state,
                  groups: [...state.groups, { name: "", multiplier: "1", discount: "" }],
                })
              }
            >
              {t("price_add_group")}
            </button>
          </Card>
          <Card title={t("price_defaults")}>
            <div class="grid2">
              <Field label={t("price_batch_discount")} hint={t("price_batch_discount_hint")}>
                <input
                  inputMode="decimal"
                  value={state.batchDiscount}
                  onInput={(e) => setState({ ...state, batchDiscount: e.currentTarget.value })}
                />
              </Field>
              <Field label={t("price_max_tokens")} hint={t("price_max_tokens_hint")}>
                <input
                  inputMode="numeric"
                  value={state.maxTokens}
                  onInput={(e) => setState({ ...state, maxTokens: e.currentTarget.value })}
                />
              </Field>
            </div>
            <p class="muted small">
              {t("price_version", { version: String(state.version ?? "—") })}
            </p>
          </Card>
        </>
      )}
    </>
  );
}
