import uPlot from "uplot";
import { t } from "./i18n";

/** Colours of the series, in order (distinct in both light and print). */
const COLORS = [
  "#2563eb",
  "#db2777",
  "#16a34a",
  "#ea580c",
  "#7c3aed",
  "#0891b2",
  "#ca8a04",
  "#64748b",
];

export interface ChartSpec {
  /** Unix seconds of each day (UTC midnight). */
  days: number[];
  series: { label: string; values: number[] }[];
  bars?: boolean;
  format: (value: number) => string;
  locale: string;
}

/** Draws a chart into `el`, sized to it; returns what removes it. */
export function drawChart(el: HTMLElement, spec: ChartSpec): () => void {
  const dayFormat = new Intl.DateTimeFormat(spec.locale, {
    month: "numeric",
    day: "numeric",
    timeZone: "UTC",
  });
  const width = () => Math.max(240, el.clientWidth);
  // The axes take the page's colours (styles.css: light or dark, as the system is).
  const style = getComputedStyle(el);
  const ink = style.getPropertyValue("--text-2").trim() || "#374151";
  const rule = style.getPropertyValue("--line").trim() || "#e5e7eb";
  const axis = { stroke: ink, grid: { stroke: rule }, ticks: { stroke: rule } };
  const plot = new uPlot(
    {
      width: width(),
      height: 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        // Half a day either side, so the first and last bars show whole.
        x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        {
          ...axis,
          values: (_u, splits) => splits.map((s) => dayFormat.format(new Date(s * 1000))),
        },
        {
          ...axis,
          values: (_u, splits) => splits.map(spec.format),
          // Wide enough for the longest label ($0.000026 needs more room than 3).
          size: (_u, values) =>
            24 + 7 * Math.max(1, ...(values ?? []).map((v) => String(v).length)),
        },
      ],
      series: [
        {
          label: t("chart_day"),
          value: (_u, v) => (v == null ? "" : dayFormat.format(new Date(v * 1000))),
        },
        ...spec.series.map((s, i) => {
          const color = COLORS[i % COLORS.length] as string;
          return {
            label: s.label,
            stroke: color,
            width: 2,
            fill: spec.bars ? `${color}99` : undefined,
            paths: spec.bars ? uPlot.paths.bars?.({ size: [0.6, 24] }) : undefined,
            points: { show: !spec.bars, size: 4 },
            value: (_u: uPlot, v: number | null) => (v == null ? "" : spec.format(v)),
          };
        }),
      ],
    },
    [spec.days, ...spec.series.map((s) => s.values)],
    el,
  );
  const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 240 }));
  observer.observe(el);
  return () => {
    observer.disconnect();
    plot.destroy();
  };
}
