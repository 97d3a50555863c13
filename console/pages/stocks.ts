/**
 * Stocks: the watch list (add a symbol), and a symbol's candlestick chart by day or week with
 * SMA/EMA overlays and its RSI below, from the bars and indicators the API serves.
 */
import type uPlot from 'uplot';
import { deleteItem, getJson, postJson, withQuery } from '../lib/api.ts';
import { candles, timeChart } from '../lib/charts.ts';
import { el, errorLine, isoSecond } from '../lib/dom.ts';
import { can } from '../lib/me.ts';
import { onBars, seconds } from '../lib/series.ts';
import type { Page } from './page.ts';

interface Watched {
  symbol: string;
  interval_s: number;
  added_at: string;
}

interface Bar {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
}

interface Point {
  date: string;
  close: number;
  sma20: number | null;
  sma50: number | null;
  ema20: number | null;
  ema50: number | null;
  rsi14: number | null;
}

const OVERLAYS = [
  { field: 'sma20', label: 'SMA 20', color: '#1565c0' },
  { field: 'sma50', label: 'SMA 50', color: '#6a1b9a' },
  { field: 'ema20', label: 'EMA 20', color: '#ef6c00', dash: [6, 4] },
  { field: 'ema50', label: 'EMA 50', color: '#00838f', dash: [6, 4] },
] as const;

export const stocks: Page = {
  path: 'stocks',
  title: 'Stocks',
  mount(root, signal, me) {
    const watchBody = el('tbody', { id: 'watchlist' });
    const newSymbol = el('input', {
      id: 'watch-symbol',
      placeholder: 'MSFT',
      pattern: '[A-Z][A-Z0-9.]{0,9}',
      required: true,
    });
    const watchForm = el(
      'form',
      { id: 'watch-form', hidden: !can(me, 'ingest') }, // POST /v1/stocks needs ingest
      el('label', {}, 'Symbol ', newSymbol),
      el('button', { type: 'submit' }, 'Watch'),
    );
    const symbol = el('select', { id: 'stock-symbol' });
    const from = el('input', { id: 'stock-from', type: 'date' });
    const to = el('input', { id: 'stock-to', type: 'date' });
    const interval = el('select', { id: 'stock-interval' }, new Option('day', 'day'), new Option('week', 'week'));
    const overlays = OVERLAYS.map((o) =>
      el('input', { type: 'checkbox', value: o.field, checked: o.field.endsWith('20') }),
    );
    const chartForm = el(
      'form',
      { id: 'stock-form' },
      el('label', {}, 'Symbol ', symbol),
      el('label', {}, 'From ', from),
      el('label', {}, 'To ', to),
      el('label', {}, 'Bars ', interval),
      ...overlays.map((box, i) => el('label', {}, box, ` ${OVERLAYS[i]!.label}`)),
      el('button', { type: 'submit' }, 'Draw'),
    );
    const error = errorLine();
    const latest = el('p', { id: 'stock-latest' });
    const candleBox = el('div', { id: 'candles', className: 'chart' });
    const rsiBox = el('div', { id: 'rsi', className: 'chart' });
    root.append(
      el('h2', {}, 'Watch list'),
      el(
        'table',
        {},
        el(
          'thead',
          {},
          el('tr', {}, el('th', {}, 'symbol'), el('th', {}, 'every'), el('th', {}, 'added'), el('th', {})),
        ),
        watchBody,
      ),
      watchForm,
      el('h2', {}, 'Chart'),
      chartForm,
      error.element,
      latest,
      candleBox,
      rsiBox,
    );

    let charts: uPlot[] = [];
    signal.addEventListener('abort', () => charts.forEach((c) => c.destroy()));

    const draw = async () => {
      error.clear();
      if (!symbol.value) return;
      const range = { from: from.value || undefined, to: to.value || undefined };
      const base = `/v1/stocks/${encodeURIComponent(symbol.value)}`;
      try {
        const [{ bars }, { points, latest: last }] = await Promise.all([
          getJson<{ bars: Bar[] }>(withQuery(`${base}/quotes`, { ...range, interval: interval.value }), signal),
          getJson<{ points: Point[]; latest: Point | null }>(withQuery(`${base}/indicators`, range), signal),
        ]);
        charts.forEach((c) => c.destroy());
        const dates = bars.map((b) => b.date);
        const x = dates.map(seconds);
        const chosen = OVERLAYS.filter((_o, i) => overlays[i]!.checked);
        latest.textContent = last
          ? `${symbol.value} latest ${last.date}: close ${last.close}, RSI 14 ${last.rsi14?.toFixed(1) ?? '—'}`
          : `${symbol.value}: no enriched quote yet`;
        candleBox.dataset.bars = String(bars.length);
        charts = [
          timeChart(candleBox, {
            x,
            axes: [`${symbol.value} price`],
            xLabel: interval.value === 'week' ? 'week' : 'day',
            plugins: [candles()],
            series: [
              ...(['open', 'high', 'low', 'close'] as const).map((f) => ({
                label: f,
                values: bars.map((b) => b[f]),
                hidden: true,
              })),
              ...chosen.map((o) => ({
                label: o.label,
                color: o.color,
                values: onBars(dates, points, o.field),
                ...('dash' in o ? { dash: [...o.dash] } : {}),
              })),
            ],
          }),
          timeChart(rsiBox, {
            x,
            axes: ['RSI 14'],
            height: 160,
            yRange: [0, 100],
            series: [
              { label: 'RSI 14', color: '#5d4037', values: onBars(dates, points, 'rsi14') },
              { label: 'overbought', color: '#c62828', dash: [4, 4], values: x.map(() => 70) },
              { label: 'oversold', color: '#2e7d32', dash: [4, 4], values: x.map(() => 30) },
            ],
          }),
        ];
      } catch (e) {
        if (!signal.aborted) error.show(e);
      }
    };

    const loadWatchList = async (prefer?: string) => {
      const { stocks: list } = await getJson<{ stocks: Watched[] }>('/v1/stocks?limit=200', signal);
      watchBody.replaceChildren(
        ...list.map((w) => {
          const pick = el('button', { type: 'button', className: 'link' }, w.symbol);
          pick.addEventListener('click', () => {
            symbol.value = w.symbol;
            void draw();
          });
          // DELETE /v1/stocks/{symbol} needs ingest, as watching does
          const stop = el('button', { type: 'button', className: 'link', hidden: !can(me, 'ingest') }, 'Delete');
          stop.addEventListener('click', () => {
            error.clear();
            deleteItem(`/v1/stocks/${encodeURIComponent(w.symbol)}`, signal)
              .then(() => loadWatchList())
              .catch((e: unknown) => error.show(e));
          });
          return el(
            'tr',
            { dataset: { symbol: w.symbol } },
            el('td', {}, pick),
            el('td', {}, `${w.interval_s} s`),
            el('td', {}, isoSecond(w.added_at)),
            el('td', {}, stop),
          );
        }),
      );
      const current = prefer ?? symbol.value;
      symbol.replaceChildren(...list.map((w) => new Option(w.symbol, w.symbol)));
      if (list.some((w) => w.symbol === current)) symbol.value = current;
    };

    watchForm.addEventListener('submit', (event) => {
      event.preventDefault();
      error.clear();
      const wanted = newSymbol.value.trim().toUpperCase();
      postJson('/v1/stocks', { symbol: wanted }, signal)
        .then(() => loadWatchList(wanted))
        .then(draw)
        .catch((e: unknown) => error.show(e));
    });
    chartForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void draw();
    });
    loadWatchList()
      .then(draw)
      .catch((e: unknown) => error.show(e));
  },
};
