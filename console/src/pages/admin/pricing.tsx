import { useEffect, useState } from "preact/hooks";
import { get, put } from "../../api";
import {
  Card,
  ErrorText,
  Field,
  Loading,
  Notice,
  PageHead,
  useAction,
  useLoad,
} from "../../components/ui";
import { type Key, t } from "../../i18n";

interface ModelPrice {
  input?: number;
  output?: number;
  image?: Record<string, Record<string, number>>;
  tts_per_million_chars?: number;
  stt_per_minute?: number;
  default_max_tokens?: number;
  batch_discount?: number;
  free?: boolean;
}

interface Pricing {
  models: Record<string, ModelPrice>;
  groups: Record<string, number>;
  batch_discount?: number;
  group_batch_discounts?: Record<string, number>;
  default_max_tokens?: number;
  version?: number;
}

const NUMBERS = [
  ["input", "price_input"],
  ["output", "price_output"],
  ["tts_per_million_chars", "price_tts"],
  ["stt_per_minute", "price_stt"],
  ["default_max_tokens", "price_max_tokens"],
  ["batch_discount", "price_batch_discount"],
] as const satisfies readonly (readonly [keyof ModelPrice, Key])[];

type NumberField = (typeof NUMBERS)[number][0];
type ModelRow = { name: string; free: boolean; image: string } & Record<NumberField, string>;
type GroupRow = { name: string; multiplier: string; discount: string };

const text = (value: number | undefined) => (value === undefined ? "" : String(value));

function toRows(pricing: Pricing) {
  const models: ModelRow[] = Object.entries(pricing.models)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, p]) => ({
      name,
      free: p.free === true,
      image: p.image ? JSON.stringify(p.image) : "",
      ...(Object.fromEntries(NUMBERS.map(([f]) => [f, text(p[f])])) as Record<NumberField, string>),
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

function number(value: string, what: string): number | undefined {
  if (!value.trim()) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Invalid(t("price_invalid_number", { what }));
  return n;
}

/** The editor's rows as the body of PUT /api/pricing (with the version read). */
function toBody(state: ReturnType<typeof toRows>): Record<string, unknown> {
  const models: Record<string, ModelPrice> = {};
  for (const row of state.models) {
    const name = row.name.trim();
    if (!name) throw new Invalid(t("price_model_name_missing"));
    if (models[name]) throw new Invalid(t("price_model_duplicate", { name }));
    const price: ModelPrice = {};
    for (const [f, key] of NUMBERS) {
      const value = number(row[f], `${name} · ${t(key)}`);
      if (value !== undefined) price[f] = value;
    }
    if (row.free) price.free = true;
    if (row.image.trim()) {
      try {
        price.image = JSON.parse(row.image);
      } catch {
        throw new Invalid(t("price_image_invalid", { name }));
      }
    }
    models[name] = price;
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
    version: state.version,
  };
}

export function PricingPage() {
  const loaded = useLoad(async () => toRows((await get<Pricing>("/api/pricing")).data), []);
  const [state, setState] = useState<ReturnType<typeof toRows> | null>(null);
  const [filter, setFilter] = useState("");
  const [notice, setNotice] = useState("");
  const action = useAction();
  useEffect(() => {
    if (loaded.data) setState(loaded.data);
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
      if (!state) return;
      setNotice("");
      let body: Record<string, unknown>;
      try {
        body = toBody(state);
      } catch (err) {
        if (err instanceof Invalid) return action.setError(err.message);
        throw err;
      }
      const { data } = await put<Pricing>("/api/pricing", body);
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
        <button type="button" class="primary" disabled={!state || action.busy} onClick={save}>
          {t("save")}
        </button>
      </PageHead>
      <Loading loaded={loaded} />
      <ErrorText error={action.error} />
      <Notice text={notice} />
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
            <div class="table-wrap">
              <table class="edit-table">
                <thead>
                  <tr>
                    <th scope="col">{t("log_model")}</th>
                    {NUMBERS.map(([f, key]) => (
                      <th key={f} scope="col">
                        {t(key)}
                      </th>
                    ))}
                    <th scope="col">{t("price_image")}</th>
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
                        {NUMBERS.map(([f, key]) => (
                          <td key={f}>
                            <input
                              aria-label={`${row.name} · ${t(key)}`}
                              inputMode="decimal"
                              value={row[f]}
                              onInput={(e) => setModel(i, { [f]: e.currentTarget.value })}
                              class="num-input"
                            />
                          </td>
                        ))}
                        <td>
                          <input
                            aria-label={`${row.name} · ${t("price_image")}`}
                            value={row.image}
                            placeholder='{"1024x1024":{"standard":0.04}}'
                            onInput={(e) => setModel(i, { image: e.currentTarget.value })}
                            class="mono"
                          />
                        </td>
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
                  models: [
                    ...state.models,
                    {
                      name: needle,
                      free: false,
                      image: "",
                      ...(Object.fromEntries(NUMBERS.map(([f]) => [f, ""])) as Record<
                        NumberField,
                        string
                      >),
                    },
                  ],
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
