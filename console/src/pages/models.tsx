import { useMemo, useState } from "preact/hooks";
import { get } from "../api";
import { Card, Field, Loading, PageHead, useLoad } from "../components/ui";
import { type Key, locale, t } from "../i18n";

/** An amount in USD and in quota units (GET /api/pricing/public). */
interface Amount {
  usd: number;
  units: number;
}

interface ModelPrice {
  id: string;
  free: boolean;
  priced: boolean;
  per_call?: Amount;
  rates: Record<string, Amount>;
  tiers?: { above: number; basis: string; rates: Record<string, Amount> }[];
  image?: Record<string, Record<string, Amount>>;
  tts_per_million_chars?: Amount;
  stt_per_minute?: Amount;
}

interface PublicPricing {
  group: string;
  multiplier: number;
  units_per_usd: number;
  models: ModelPrice[];
}

type Kind = "all" | "tokens" | "images" | "audio";

/** The provider a name starts with: "claude-3-5-haiku" → "claude", "openai/gpt-4o" → "openai". */
function provider(id: string): string {
  return id.split(/[/:\-_.]/)[0]?.toLowerCase() || id;
}

function hasKind(m: ModelPrice, kind: Kind): boolean {
  if (kind === "all") return true;
  if (kind === "images") return m.image !== undefined || "image_output" in m.rates;
  if (kind === "audio")
    return (
      m.tts_per_million_chars !== undefined ||
      m.stt_per_minute !== undefined ||
      "audio_input" in m.rates ||
      "audio_output" in m.rates
    );
  return Object.keys(m.rates).length > 0;
}

/**
 * Every model one may call and its price (for visitors the default group's, for a signed-in
 * user their group's): filterable by name, provider and kind, in $ or quota units. Each model
 * is a card of its own rates (not a table with a column per kind), so that a phone shows it
 * all without scrolling sideways, and names wrap rather than being cut.
 */
export function Models() {
  const list = useLoad(async () => (await get<PublicPricing>("/api/pricing/public")).data, []);
  const [name, setName] = useState("");
  const [prov, setProv] = useState("");
  const [kind, setKind] = useState<Kind>("all");
  const [units, setUnits] = useState(false);
  const models = list.data?.models ?? [];
  const providers = useMemo(() => [...new Set(models.map((m) => provider(m.id)))].sort(), [models]);
  const needle = name.trim().toLowerCase();
  const shown = models.filter(
    (m) =>
      m.id.toLowerCase().includes(needle) && (!prov || provider(m.id) === prov) && hasKind(m, kind),
  );
  const loc = locale();
  const money = (a: Amount) =>
    units
      ? a.units.toLocaleString(loc, { maximumFractionDigits: 2 })
      : `$${a.usd.toLocaleString(loc, { maximumFractionDigits: 6 })}`;
  const rateRows = (rates: Record<string, Amount>) =>
    Object.entries(rates).map(([k, a]) => (
      <div key={k}>
        <dt>{rateLabel(k)}</dt>
        <dd>{money(a)}</dd>
      </div>
    ));
  return (
    <>
      <PageHead title={t("models_title")} />
      <Card>
        <div class="models-filters">
          <Field label={t("models_filter")}>
            <input type="search" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field label={t("models_provider")}>
            <select value={prov} onChange={(e) => setProv(e.currentTarget.value)}>
              <option value="">{t("models_all")}</option>
              {providers.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("models_kind")}>
            <select value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
              <option value="all">{t("models_all")}</option>
              <option value="tokens">{t("models_kind_tokens")}</option>
              <option value="images">{t("models_kind_images")}</option>
              <option value="audio">{t("models_kind_audio")}</option>
            </select>
          </Field>
          <label class="check">
            <input
              type="checkbox"
              checked={units}
              onChange={(e) => setUnits(e.currentTarget.checked)}
            />{" "}
            {t("models_units")}
          </label>
        </div>
        {list.data && (
          <p class="muted">
            {t("models_group", {
              group: list.data.group,
              multiplier: String(list.data.multiplier),
            })}{" "}
            {t("models_fallback")}
          </p>
        )}
      </Card>
      <Loading loaded={list} />
      <ul class="models-list" data-testid="models-list">
        {list.data && shown.length === 0 && <li class="muted">{t("models_none")}</li>}
        {shown.map((m) => (
          <li key={m.id} class="card model-card">
            <h2 class="model-name">
              {m.id} {m.free && <span class="badge">{t("models_free")}</span>}
            </h2>
            {!m.priced && <p class="muted">{t("models_mapped")}</p>}
            {Object.keys(m.rates).length > 0 && (
              <>
                <p class="muted">{t("models_per_million")}</p>
                <dl class="rates">{rateRows(m.rates)}</dl>
              </>
            )}
            {m.tiers?.map((tier) => (
              <div key={tier.above}>
                <p class="muted">{t("models_tier", { above: tier.above.toLocaleString(loc) })}</p>
                <dl class="rates">{rateRows(tier.rates)}</dl>
              </div>
            ))}
            <dl class="rates">
              {m.per_call && (
                <div>
                  <dt>{t("models_per_call")}</dt>
                  <dd>{money(m.per_call)}</dd>
                </div>
              )}
              {Object.entries(m.image ?? {}).flatMap(([size, qualities]) =>
                Object.entries(qualities).map(([quality, a]) => (
                  <div key={`${size}-${quality}`}>
                    <dt>{t("models_image", { size, quality })}</dt>
                    <dd>{money(a)}</dd>
                  </div>
                )),
              )}
              {m.tts_per_million_chars && (
                <div>
                  <dt>{t("models_tts")}</dt>
                  <dd>{money(m.tts_per_million_chars)}</dd>
                </div>
              )}
              {m.stt_per_minute && (
                <div>
                  <dt>{t("models_stt")}</dt>
                  <dd>{money(m.stt_per_minute)}</dd>
                </div>
              )}
            </dl>
          </li>
        ))}
      </ul>
    </>
  );
}

/** Each rate's label: the keys are named here so the source scan finds every one looked up. */
const RATE_LABELS: Record<string, Key> = {
  input: "rate_input",
  cached_input: "rate_cached_input",
  cache_write: "rate_cache_write",
  cache_write_1h: "rate_cache_write_1h",
  audio_input: "rate_audio_input",
  cached_audio_input: "rate_cached_audio_input",
  image_input: "rate_image_input",
  cached_image_input: "rate_cached_image_input",
  output: "rate_output",
  reasoning: "rate_reasoning",
  audio_output: "rate_audio_output",
  image_output: "rate_image_output",
};

function rateLabel(kind: string): string {
  const key = RATE_LABELS[kind];
  return key ? t(key) : kind;
}
