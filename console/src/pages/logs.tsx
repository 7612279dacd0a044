import { useState } from "preact/hooks";
import { get, type LogRow, type LogStat, type SourceKind } from "../api";
import {
  Badge,
  BUCKET,
  Card,
  type Column,
  CursorPager,
  dateTime,
  Field,
  formFields,
  Loading,
  label,
  Money,
  PageHead,
  Table,
  useLoad,
} from "../components/ui";
import { type Key, t } from "../i18n";
import { num, preciseUsd, usd } from "../money";
import { go, route } from "../router";
import { NOTABLE, usageKinds } from "../usage";

const SIZE = 25;

const OUTCOME: Record<string, Key> = {
  completed: "outcome_completed",
  interrupted: "outcome_interrupted",
  client_closed: "outcome_client_closed",
  failed: "outcome_failed",
  unsettled: "outcome_unsettled",
};

/** A date input's value (local) as unix seconds: its start, or its end with `end`. */
function dayBound(date: string | null, end: boolean): number | undefined {
  if (!date) return undefined;
  const [y, m, d] = date.split("-").map(Number);
  const at = end
    ? new Date(y ?? 0, (m ?? 1) - 1, d ?? 1, 23, 59, 59)
    : new Date(y ?? 0, (m ?? 1) - 1, d ?? 1);
  return Math.floor(at.getTime() / 1000);
}

/** An admin's user filter: an id as `user_id`, anything else as `username`. */
function userFilter(value: string | null): { user_id?: string; username?: string } {
  if (!value) return {};
  return /^user_[A-Za-z0-9]{8,}$/.test(value) ? { user_id: value } : { username: value };
}

/**
 * What a call consumed, in its row: the prompt / completion token sums (as one-api shows them),
 * or for a call not priced by tokens its images, characters or seconds; and below, the kinds
 * worth a glance (cached, cache-write, reasoning, audio and image tokens).
 */
function Usage(props: { row: LogRow }) {
  const { row } = props;
  const notable = usageKinds(row).filter((kind) => NOTABLE.has(kind.label));
  const media = [
    row.image_count
      ? t("log_images_summary", {
          count: num(row.image_count),
          size: row.image_size ?? "",
          quality: row.image_quality ?? "",
        })
      : "",
    row.characters ? t("log_characters_summary", { count: num(row.characters) }) : "",
    row.seconds ? t("log_seconds_summary", { count: num(row.seconds) }) : "",
  ].filter(Boolean);
  const tokens = row.prompt_tokens > 0 || row.completion_tokens > 0 || media.length === 0;
  return (
    <>
      {tokens && (
        <span>
          {num(row.prompt_tokens)} / {num(row.completion_tokens)}
        </span>
      )}
      {media.map((text) => (
        <small key={text} class="usage-line">
          {text}
        </small>
      ))}
      {notable.map((kind) => (
        <small key={kind.label} class="usage-line muted">
          {t(kind.label)} {num(kind.count)}
        </small>
      ))}
    </>
  );
}

/**
 * The row's details: the columns a narrower screen leaves out (key, channel, latency, status),
 * then every kind of the call's usage, its count and what it cost.
 */
function UsageDetail(props: { row: LogRow; admin?: boolean }) {
  const { row } = props;
  const more: [Key, string][] = [
    ["log_key", row.key_name ?? "—"],
    ...(props.admin
      ? [["log_channel", row.channel_name ?? row.channel_id ?? "—"] as [Key, string]]
      : []),
    ["log_latency", row.latency_ms === null ? "—" : num(row.latency_ms)],
    ["log_status", row.status === null ? "—" : String(row.status)],
  ];
  return (
    <ul class="usage-detail">
      {more.map(([key, value]) => (
        <li key={key} class="detail-more">
          <span>{t(key)}</span>
          <span class="num">{value}</span>
          <span />
        </li>
      ))}
      {usageKinds(props.row).map((kind) => (
        <li key={kind.label}>
          <span>{t(kind.label)}</span>
          <span class="num">{num(kind.count)}</span>
          <span class="num">{kind.cost === undefined ? "—" : preciseUsd(kind.cost)}</span>
        </li>
      ))}
      {props.row.held !== null && (
        <li>
          <span>{t("log_held")}</span>
          <span />
          <span class="num">{usd(props.row.held)}</span>
        </li>
      )}
    </ul>
  );
}

const SOURCE: Record<SourceKind, Key> = {
  trial: "source_trial",
  redemption: "source_redemption",
  admin: "source_admin",
  order: "source_order_plain",
  checkin: "source_checkin",
  invitation: "source_invitation",
};

/** Why calls were refused (the refusal's code), in words. */
const REFUSAL: Record<string, Key> = {
  insufficient_quota: "refusal_insufficient_quota",
  key_quota: "refusal_key_quota",
  rate_limit_exceeded: "refusal_rate_limit",
  model_not_available: "refusal_model_not_available",
};

/** Where a top-up came from, in words: never its reference, which is internal. */
function sourceText(row: LogRow): string {
  const source = row.source;
  if (!source) return "";
  if (source.kind === "order" && source.id) return t("source_order", { id: `${source.id}…` });
  return label(SOURCE, source.kind);
}

/** The channel by name, its id in the tooltip; a deleted channel by its id. */
function ChannelCell(props: { row: LogRow; class?: string }) {
  const { row } = props;
  if (!row.channel_id) return <td class={props.class}>—</td>;
  return (
    <td class={props.class} title={row.channel_id}>
      {row.channel_name ?? <span class="mono">{row.channel_id}</span>}
    </td>
  );
}

/**
 * A row's columns: Time, (User), Model, Tokens, Cost and Outcome always; Key, (Channel),
 * Latency and Status only on screens of 1,440 px and more (`col-more`), and in the row's
 * details below that (`detail-more`).
 */
function logColumns(admin: boolean | undefined): Column[] {
  return [
    t("log_time"),
    ...(admin ? [t("log_user")] : []),
    { label: t("log_key"), class: "col-more" },
    t("log_model"),
    ...(admin ? [{ label: t("log_channel"), class: "col-more" }] : []),
    t("log_tokens"),
    t("log_cost"),
    { label: t("log_latency"), class: "col-more" },
    { label: t("log_status"), class: "col-more" },
    t("log_outcome"),
  ];
}

function TopUpRow(props: { row: LogRow; admin?: boolean }) {
  const { row, admin } = props;
  return (
    <tr class="topup">
      <td>{dateTime(row.created_at)}</td>
      {admin && <td>{row.username || row.user_id}</td>}
      <td class="col-more">—</td>
      <td class="wrap">
        <Badge value="topup" label={t("log_topup")} /> {label(BUCKET, row.bucket)}
        <small class="usage-line muted">{sourceText(row)}</small>
        {admin && row.reference && (
          <small class="usage-line muted mono" title={t("log_source")}>
            {row.reference}
          </small>
        )}
      </td>
      {admin && <td class="col-more">—</td>}
      <td>—</td>
      <td class="num positive">
        +{usd(row.quota)}
        <small class="units">
          +{num(row.quota)} {t("units")}
        </small>
      </td>
      <td class="col-more">—</td>
      <td class="col-more">—</td>
      <td>—</td>
    </tr>
  );
}

/** Calls refused within a minute (one line, counted): how many, and why. */
function RefusedRow(props: { row: LogRow; admin?: boolean }) {
  const { row, admin } = props;
  const reason = row.reason ? (REFUSAL[row.reason] ?? "refusal_other") : "refusal_other";
  return (
    <tr class="refused">
      <td>{dateTime(row.created_at)}</td>
      {admin && <td>{row.username || row.user_id}</td>}
      <td class="col-more">{row.key_name ?? "—"}</td>
      <td>{row.model ?? "—"}</td>
      {admin && <td class="col-more">—</td>}
      <td>—</td>
      <td class="num">—</td>
      <td class="col-more">—</td>
      <td class="col-more">{row.status ?? "—"}</td>
      <td class="wrap">
        <Badge value="refused" label={t("log_refused")} />
        <small class="usage-line">
          {t("log_refused_count", { count: num(row.count ?? 1) })} · {t(reason)}
        </small>
      </td>
    </tr>
  );
}

function Row(props: { row: LogRow; admin?: boolean; columns: number }) {
  const { row, admin } = props;
  const [open, setOpen] = useState(false);
  if (row.type === "topup") return <TopUpRow row={row} admin={admin} />;
  if (row.type === "refused") return <RefusedRow row={row} admin={admin} />;
  const line = (
    <tr class={open ? "open" : undefined}>
      <td>{dateTime(row.created_at)}</td>
      {admin && <td>{row.username || row.user_id}</td>}
      <td class="col-more">{row.key_name ?? "—"}</td>
      <td>{row.model ?? "—"}</td>
      {admin && <ChannelCell row={row} class="col-more" />}
      <td class="num">
        <Usage row={row} />
        <button
          type="button"
          class="link details-toggle"
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          {open ? t("log_details_hide") : t("log_details")}
        </button>
      </td>
      <td class="num">
        <Money units={row.quota} />
      </td>
      <td class="num col-more">{row.latency_ms === null ? "—" : num(row.latency_ms)}</td>
      <td class="col-more">{row.status ?? "—"}</td>
      <td>
        <Badge value={row.outcome ?? "none"} label={label(OUTCOME, row.outcome)} />
      </td>
    </tr>
  );
  if (!open) return line;
  return (
    <>
      {line}
      <tr class="detail">
        <td colSpan={props.columns}>
          <UsageDetail row={row} admin={admin} />
        </td>
      </tr>
    </>
  );
}

/** The usage log: the caller's own, or (admin) everyone's, with filters and cursor pages. */
export function Logs(props: { admin?: boolean }) {
  const { admin } = props;
  const { path, query } = route.use();
  const qs = query.toString();
  const [paging, setPaging] = useState<{ qs: string; cursors: string[] }>({ qs, cursors: [] });
  // Searching again with the same filters reads the log again.
  const [searches, setSearches] = useState(0);
  const cursors = paging.qs === qs ? paging.cursors : [];
  const cursor = cursors[cursors.length - 1];
  const filters = {
    key_name: query.get("key_name") ?? undefined,
    model: query.get("model") ?? undefined,
    start: dayBound(query.get("from"), false),
    end: dayBound(query.get("to"), true),
    ...(admin
      ? {
          ...userFilter(query.get("user_id")),
          channel: query.get("channel") ?? undefined,
          type: query.get("type") ?? undefined,
        }
      : {}),
  };
  const base = admin ? "/api/log" : "/api/log/self";
  const logs = useLoad(
    () => get<LogRow[]>(admin ? "/api/log/" : base, { ...filters, size: SIZE, cursor }),
    [qs, cursor, admin, searches],
  );
  const stat = useLoad(
    async () => (await get<LogStat>(`${base}/stat`, filters)).data,
    [qs, admin, searches],
  );
  const rows = logs.data?.data ?? [];
  const next = logs.data?.next_cursor;
  const value = (name: string) => query.get(name) ?? "";
  const head = logColumns(admin);

  return (
    <>
      <PageHead title={admin ? t("admin_logs_title") : t("logs_title")} />
      <form
        key={qs}
        class="filters"
        onSubmit={(e) => {
          const f = formFields(e);
          setPaging({ qs, cursors: [] });
          setSearches((n) => n + 1);
          go(path, f);
        }}
      >
        {admin && (
          <Field label={t("log_user_id")}>
            <input name="user_id" defaultValue={value("user_id")} autoComplete="off" />
          </Field>
        )}
        <Field label={t("log_key_name")}>
          <input name="key_name" defaultValue={value("key_name")} autoComplete="off" />
        </Field>
        <Field label={t("log_model")}>
          <input name="model" defaultValue={value("model")} autoComplete="off" />
        </Field>
        {admin && (
          <Field label={t("log_channel")}>
            <input name="channel" defaultValue={value("channel")} autoComplete="off" />
          </Field>
        )}
        {admin && (
          <Field label={t("log_type")}>
            <select name="type">
              <option value="">{t("log_type_all")}</option>
              <option value="consume" selected={value("type") === "consume"}>
                {t("log_type_consume")}
              </option>
              <option value="topup" selected={value("type") === "topup"}>
                {t("log_topup")}
              </option>
            </select>
          </Field>
        )}
        <Field label={t("log_from")}>
          <input name="from" type="date" defaultValue={value("from")} />
        </Field>
        <Field label={t("log_to")}>
          <input name="to" type="date" defaultValue={value("to")} />
        </Field>
        <div class="buttons">
          <button type="submit" class="primary">
            {t("search")}
          </button>
          <button type="button" onClick={() => go(path)}>
            {t("reset")}
          </button>
        </div>
      </form>
      {stat.data && (
        <Card class="totals">
          <dl class="kv inline">
            <div>
              <dt>{t("log_total_spend")}</dt>
              <dd>
                <Money units={stat.data.quota} />
              </dd>
            </div>
            <div>
              <dt>{t("requests")}</dt>
              <dd>{num(stat.data.requests)}</dd>
            </div>
            <div>
              <dt>{t("log_prompt")}</dt>
              <dd>{num(stat.data.prompt_tokens)}</dd>
            </div>
            <div>
              <dt>{t("log_completion")}</dt>
              <dd>{num(stat.data.completion_tokens)}</dd>
            </div>
          </dl>
          {stat.data.complete === false && <p class="muted small">{t("log_totals_partial")}</p>}
        </Card>
      )}
      <Loading loaded={logs} />
      <Table testId="log-table" empty={logs.data !== undefined && rows.length === 0} head={head}>
        {rows.map((row) => (
          <Row
            key={`${row.request_id}-${row.created_at}`}
            row={row}
            admin={admin}
            columns={head.length}
          />
        ))}
      </Table>
      <CursorPager
        cursors={cursors}
        next={next}
        onCursors={(cursors) => setPaging({ qs, cursors })}
      />
    </>
  );
}
