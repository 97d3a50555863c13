/**
 * Charts with uPlot (canvas): time on x, axes with labels, the live legend (values at the cursor)
 * and a tooltip beside the cursor. Line, grouped-bar and candlestick series.
 */
import uPlot from 'uplot';
import { el } from './dom.ts';

export const PALETTE = ['#1565c0', '#ef6c00', '#2e7d32', '#6a1b9a', '#c62828', '#00838f', '#9e9d24', '#5d4037'];
const [UP, DOWN] = ['#2e7d32', '#c62828'];

export interface SeriesSpec {
  label: string;
  values: (number | null)[];
  color?: string;
  dash?: number[];
  /** in the legend and tooltip only: drawn by a plugin (candles) or not at all */
  hidden?: boolean;
  /** the index in ChartSpec.axes of the y axis it is drawn against (default 0) */
  axis?: number;
}

export interface ChartSpec {
  /** epoch seconds, or plain numbers when `xNumeric` */
  x: number[];
  /** x is a count (a training step), not a time */
  xNumeric?: boolean;
  series: SeriesSpec[];
  /** y axis labels: the first on the left, the others on the right, each with its own scale */
  axes: string[];
  xLabel?: string;
  /** x values are moments of a session, not days: the legend and tooltip show the time of day, the x axis at least a minute */
  clock?: boolean;
  kind?: 'line' | 'bar';
  height?: number;
  yRange?: [number, number];
  plugins?: uPlot.Plugin[];
}

const DAY_S = 86_400;

/** The smallest gap between two x values (`alone` when there is one value): a day of seconds by default. */
function step(xs: ArrayLike<number>, alone = DAY_S): number {
  let gap = Infinity;
  for (let i = 1; i < xs.length; i++) gap = Math.min(gap, xs[i]! - xs[i - 1]!);
  return Number.isFinite(gap) && gap > 0 ? gap : alone;
}

/** Canvas pixels per x step: how wide a bar or a candle may be. */
const stepPixels = (u: uPlot): number =>
  (step(u.data[0]) * u.bbox.width) / Math.max((u.scales.x!.max ?? 1) - (u.scales.x!.min ?? 0), 1);

const formatNumber = (value: number | null | undefined): string =>
  value === null || value === undefined ? '—' : Number(value.toPrecision(6)).toLocaleString('en');

const dateLabel = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 10);

/** local time, as uPlot's axis ticks are */
const timeLabel = (seconds: number): string => new Date(seconds * 1000).toLocaleTimeString('en-GB');

/** The scale of y axis `i`. */
const yScale = (i: number): string => (i === 0 ? 'y' : `y${i}`);

/** Bar `slot` of `slots` side by side in each x step, from its start (a bucket's bars cover the bucket). */
function groupedBars(slot: number, slots: number, scale: string): uPlot.Series.PathBuilder {
  return (u, seriesIdx, idx0, idx1) => {
    const path = new Path2D();
    const [xs, ys] = [u.data[0], u.data[seriesIdx]!];
    const stepWidth = stepPixels(u);
    const width = (stepWidth * 0.8) / slots;
    const zero = u.valToPos(0, scale, true);
    for (let i = idx0; i <= idx1; i++) {
      const y = ys[i];
      if (y === null || y === undefined) continue;
      const top = u.valToPos(y, scale, true);
      const left = u.valToPos(xs[i]!, 'x', true) + stepWidth * 0.1 + slot * width;
      path.rect(left, Math.min(top, zero), Math.max(width - 1, 1), Math.abs(zero - top));
    }
    return { stroke: path, fill: path };
  };
}

/** Candles from series 1-4 (open, high, low, close): a wick from low to high, a body from open to close. */
export function candles(): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const [xs, open, high, low, close] = u.data;
        const { ctx } = u;
        const body = Math.max(stepPixels(u) * 0.6, 1);
        ctx.save();
        ctx.beginPath();
        ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
        ctx.clip();
        for (let i = 0; i < xs.length; i++) {
          const [o, h, l, c] = [open![i], high![i], low![i], close![i]];
          if (o == null || h == null || l == null || c == null) continue;
          const x = Math.round(u.valToPos(xs[i]!, 'x', true));
          const [yo, yc] = [u.valToPos(o, 'y', true), u.valToPos(c, 'y', true)];
          ctx.strokeStyle = ctx.fillStyle = c >= o ? UP : DOWN;
          ctx.beginPath();
          ctx.moveTo(x, u.valToPos(h, 'y', true));
          ctx.lineTo(x, u.valToPos(l, 'y', true));
          ctx.stroke();
          ctx.fillRect(x - body / 2, Math.min(yo, yc), body, Math.max(Math.abs(yo - yc), 1));
        }
        ctx.restore();
      },
    },
  };
}

/** A box beside the cursor with the x value and each shown series' value there. */
function tooltip(xLabel: (x: number) => string): uPlot.Plugin {
  const box = el('div', { className: 'chart-tip', hidden: true });
  return {
    hooks: {
      init: (u) => void u.over.append(box),
      setCursor: (u) => {
        const { idx, left, top } = u.cursor;
        if (idx === null || idx === undefined || left === undefined || left < 0) {
          box.hidden = true;
          return;
        }
        box.hidden = false;
        box.replaceChildren(
          el('b', {}, xLabel(u.data[0][idx]!)),
          ...u.series
            .slice(1)
            .flatMap((s, i) =>
              s.show === false ? [] : [el('div', {}, `${s.label}: ${formatNumber(u.data[i + 1]![idx])}`)],
            ),
        );
        // CSSOM writes, which the CSP allows (style attributes it would not)
        box.style.left = `${Math.min(left + 14, u.over.clientWidth - box.offsetWidth)}px`;
        box.style.top = `${(top ?? 0) + 14}px`;
      },
    },
  };
}

/** A y axis drawn in the colour of the first series against it, so each series reads against its own axis. */
function axisColor(spec: ChartSpec, axis: number): string {
  const i = spec.series.findIndex((s) => (s.axis ?? 0) === axis);
  return i < 0 ? '#444' : (spec.series[i]!.color ?? PALETTE[i % PALETTE.length]!);
}

/** A time chart in `target`, as wide as it is; returns the uPlot instance (destroy it to remove). */
export function timeChart(target: HTMLElement, spec: ChartSpec): uPlot {
  const bars = spec.kind === 'bar';
  const drawn = spec.series.filter((s) => !s.hidden).length;
  const xLabel = spec.xNumeric ? formatNumber : spec.clock ? timeLabel : dateLabel;
  const yRange: uPlot.Scale.Range =
    spec.yRange ??
    ((_u, min, max) => (bars ? [Math.min(0, min), Math.max(max, 0) * 1.1 || 1] : uPlot.rangeNum(min, max, 0.1, true)));
  const grid = { stroke: '#eee' };
  let slot = 0;
  const options: uPlot.Options = {
    width: Math.max(target.clientWidth, 320),
    height: spec.height ?? 300,
    plugins: [tooltip(xLabel), ...(spec.plugins ?? [])],
    scales: {
      // bars start at their bucket; points and candles sit on theirs
      x: {
        time: !spec.xNumeric,
        // from the data drawn, which setData may have replaced since the chart was made
        range: (u, min, max) => {
          if (spec.clock) return [Math.min(min, max - 60), max]; // a minute at least
          const gap = step(u.data[0], spec.xNumeric ? 1 : DAY_S);
          return bars ? [min, max + gap] : [min - gap / 2, max + gap / 2];
        },
      },
      ...Object.fromEntries(spec.axes.map((_label, i) => [yScale(i), { range: yRange }])),
    },
    axes: [
      { label: spec.xLabel ?? 'time', stroke: '#444', grid },
      ...spec.axes.map((label, i): uPlot.Axis => ({
        label,
        scale: yScale(i),
        side: i === 0 ? 3 : 1,
        stroke: spec.axes.length > 1 ? axisColor(spec, i) : '#444',
        grid: i === 0 ? grid : { show: false },
        size: 64,
        values: (_u, ticks) => ticks.map(formatNumber),
      })),
    ],
    series: [
      {
        label: spec.xNumeric ? (spec.xLabel ?? 'x') : spec.clock ? 'time' : 'date',
        value: (_u, v) => (v === null ? '—' : xLabel(v)),
      },
      ...spec.series.map((s, i): uPlot.Series => {
        const color = s.color ?? PALETTE[i % PALETTE.length]!;
        const scale = yScale(s.axis ?? 0);
        const common = {
          label: s.label,
          stroke: color,
          scale,
          value: (_u: uPlot, v: number | null) => formatNumber(v),
        };
        if (s.hidden) return { ...common, paths: () => null, points: { show: false } };
        if (bars) return { ...common, fill: color, paths: groupedBars(slot++, drawn, scale), points: { show: false } };
        if (s.dash) return { ...common, dash: s.dash, points: { show: false } };
        return { ...common, width: 2, spanGaps: true };
      }),
    ],
  };
  return new uPlot(options, [spec.x, ...spec.series.map((s) => s.values)], target);
}
