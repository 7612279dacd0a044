import { useEffect, useMemo, useRef } from "preact/hooks";
import { get, type UsageRow } from "../api";
import type { ChartSpec } from "../chart";
import { Announcements } from "../components/announcements";
import { CheckinCard } from "../components/checkin";
import { InviteCard } from "../components/invite";
import { BUCKET, Card, Loading, label, Money, PageHead, useLoad } from "../components/ui";
import { locale, t } from "../i18n";
import { dollars, num } from "../money";
import { refreshUser, session } from "../session";

const DAY = 86_400;

/** The last `days` UTC days, oldest first, as unix seconds of their midnight. */
function lastDays(days: number): number[] {
  const today = Math.floor(Date.now() / 1000 / DAY) * DAY;
  return Array.from({ length: days }, (_, i) => today - (days - 1 - i) * DAY);
}

function dayOf(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / 1000;
}

function Chart(props: { spec: ChartSpec; title: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let remove: (() => void) | undefined;
    let live = true;
    import("../chart").then(({ drawChart }) => {
      if (live && ref.current) remove = drawChart(ref.current, props.spec);
    });
    return () => {
      live = false;
      remove?.();
    };
  }, [props.spec]);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={ref} role="img" aria-label={props.title} />
    </figure>
  );
}

export function Dashboard() {
  const user = session.use();
  const usage = useLoad(async () => {
    await refreshUser();
    return (await get<UsageRow[]>("/api/usage/self", { days: 30 })).data;
  }, []);
  const loc = locale();
  const rows = usage.data ?? [];
  const charts = useMemo(() => {
    const days = lastDays(30);
    const index = new Map(days.map((d, i) => [d, i]));
    const models = [...new Set(rows.map((r) => r.model))].sort();
    const spend = models.map((model) => ({ label: model, values: days.map(() => 0) }));
    const requests = days.map(() => 0);
    for (const row of rows) {
      const i = index.get(dayOf(row.date));
      if (i === undefined) continue;
      const series = spend[models.indexOf(row.model)];
      if (series) series.values[i] = (series.values[i] ?? 0) + row.quota_dollar;
      requests[i] = (requests[i] ?? 0) + row.requests;
    }
    const spendSpec: ChartSpec = {
      days,
      series: spend,
      format: (v) => `$${dollars(Math.round(v * 500_000))}`,
      locale: loc,
    };
    const requestSpec: ChartSpec = {
      days,
      series: [{ label: t("requests"), values: requests }],
      bars: true,
      format: (v) => v.toLocaleString(loc),
      locale: loc,
    };
    return { spendSpec, requestSpec };
  }, [usage.data, loc]);
  if (!user) return null;
  const today = new Date().toISOString().slice(0, 10);
  const todayRows = rows.filter((r) => r.date === today);
  const todayUnits = todayRows.reduce((sum, r) => sum + r.quota, 0);
  const todayRequests = todayRows.reduce((sum, r) => sum + r.requests, 0);
  return (
    <>
      <PageHead title={t("dashboard_title")} />
      <div class="stats">
        <Card class="stat stat-total" testId="balance">
          <h2>{t("balance_total")}</h2>
          <Money units={user.total_quota} />
        </Card>
        {(["free", "bonus", "paid"] as const).map((b) => (
          <Card key={b} class="stat">
            <h2>{label(BUCKET, b)}</h2>
            <Money units={user[`${b}_quota`]} />
          </Card>
        ))}
        <Card class="stat">
          <h2>{t("used_quota")}</h2>
          <Money units={user.used_quota} />
        </Card>
        <Card class="stat">
          <h2>{t("request_count")}</h2>
          <span class="money">{num(user.request_count)}</span>
        </Card>
        <Card class="stat">
          <h2>{t("today_spend")}</h2>
          <Money units={todayUnits} />
          <small class="units">{t("today_requests", { n: num(todayRequests) })}</small>
        </Card>
      </div>
      {/* stream B (site): the operator's announcements, when there are any */}
      <Announcements />
      {/* stream E (growth): shown only where the site offers them */}
      <CheckinCard />
      <InviteCard />
      <Card title={t("chart_title")}>
        <Loading loaded={usage} />
        {usage.data && rows.length === 0 && <p class="muted">{t("chart_empty")}</p>}
        {rows.length > 0 && (
          <div class="charts">
            <Chart title={t("chart_spend")} spec={charts.spendSpec} />
            <Chart title={t("chart_requests")} spec={charts.requestSpec} />
          </div>
        )}
        <p class="muted small">{t("chart_utc")}</p>
      </Card>
      <Card title={t("quickstart_title")}>
        <p>{t("quickstart_text")}</p>
        <pre class="mono">{`${location.origin}/v1`}</pre>
      </Card>
    </>
  );
}
