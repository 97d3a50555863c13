// The dashboard: plain browser JavaScript, no build step. Served as a file because the page's CSP
// allows no inline script. The API key stays in sessionStorage (gone when the tab closes) and goes
// out only as an Authorization header: streams are read with fetch, since EventSource cannot set one.
/* global document, sessionStorage, fetch, TextDecoderStream, AbortController, URLSearchParams, Option, setTimeout, setInterval, location */

const KEY = 'millrace.key';
const SCORES_TOPIC = 'finance.statements.scored';
const MAX_SCORE_ROWS = 50;
const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

const authHeaders = () => ({ authorization: `Bearer ${sessionStorage.getItem(KEY)}` });

async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return new Error(body.message ?? `HTTP ${response.status}`);
}

async function api(path) {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** Reads server-sent events from `path` until the stream ends or `signal` aborts. */
async function readEvents(path, signal, onEvent) {
  const response = await fetch(path, { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, '\n');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = { event: 'message', id: undefined, data: [] };
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue; // blank or a comment
        const [name, text] = [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, '')];
        if (name === 'data') event.data.push(text);
        else if (name === 'event' || name === 'id') event[name] = text;
      }
      onEvent({ ...event, data: event.data.join('\n') });
    }
  }
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// Avro dates may arrive as days since the epoch or as an ISO string
const dateText = (value) =>
  typeof value === 'number' ? new Date(value * 86_400_000).toISOString().slice(0, 10) : String(value).slice(0, 10);

function showScore(score) {
  const row = document.createElement('tr');
  row.dataset.id = score.id;
  row.append(
    cell(new Date().toLocaleTimeString()),
    cell(score.company_id),
    cell(dateText(score.period)),
    cell(score.kind),
    cell(Number(score.probability).toFixed(4)),
    cell(score.category, score.category),
  );
  const body = $('scores');
  body.prepend(row);
  while (body.rows.length > MAX_SCORE_ROWS) body.lastElementChild.remove();
}

/** Follows the scores topic; on a drop, reconnects after 3 s from the record after the last one seen. */
function followScores() {
  const next = new Map(); // partition -> offset to resume at
  const state = $('stream-state');
  const setState = (value, title = '') => {
    state.dataset.state = value;
    state.textContent = value;
    state.title = title;
  };
  const connect = async () => {
    const from = next.size > 0 ? [...next].map(([p, o]) => `${p}:${o}`).join(',') : 'now';
    setState('connecting');
    let reason = 'the stream ended';
    try {
      await readEvents(`/v1/streams/${SCORES_TOPIC}?from=${encodeURIComponent(from)}`, undefined, (event) => {
        if (event.event === 'ready') setState('live');
        if (event.event !== 'record') return;
        const [partition, offset] = event.id.split(':');
        next.set(partition, String(BigInt(offset) + 1n));
        showScore(JSON.parse(event.data));
      });
    } catch (error) {
      reason = error.message;
    }
    setState('retrying', reason);
    setTimeout(connect, 3000);
  };
  void connect();
}

let uploadFollow;
async function followUpload(id) {
  uploadFollow?.abort();
  uploadFollow = new AbortController();
  const { signal } = uploadFollow;
  const [bar, text] = [$('upload-progress'), $('upload-text')];
  text.textContent = 'connecting…';
  try {
    await readEvents(`/v1/uploads/${encodeURIComponent(id)}/events`, signal, (event) => {
      if (event.event !== 'progress' && event.event !== 'done') return;
      const p = JSON.parse(event.data);
      if (p.percent === null) bar.removeAttribute('value');
      else bar.value = p.percent;
      text.textContent = `${p.state}: ${p.classified_rows} classified, ${p.rejected_rows} rejected of ${p.total_rows ?? '?'} rows${p.done ? ' (done)' : ''}`;
    });
  } catch (error) {
    if (!signal.aborted) text.textContent = error.message;
  }
}

let views = [];

function fillSelect(select, options, preferred) {
  select.replaceChildren(...options.map((name) => new Option(name, name)));
  if (options.includes(preferred)) select.value = preferred;
}

function onViewChange() {
  const view = views.find((v) => v.name === $('chart-view').value);
  fillSelect(
    $('chart-metric'),
    view.metrics.map((m) => m.name),
    view.default_metrics[0],
  );
  fillSelect($('chart-bucket'), view.buckets, 'month');
}

function svgElement(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A bar per bucket, scaled to the largest value; every few buckets labelled. */
function drawBars(svg, points) {
  const [width, height, left, right, top, bottom] = [720, 280, 56, 10, 12, 36];
  svg.replaceChildren();
  if (points.length === 0) {
    svg.append(svgElement('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'no data yet'));
    return;
  }
  const max = Math.max(...points.map((p) => p.value), 0) || 1;
  const slot = (width - left - right) / points.length;
  const plotHeight = height - top - bottom;
  const labelEvery = Math.ceil(points.length / 8);
  points.forEach((point, i) => {
    const barHeight = (Math.max(point.value, 0) / max) * plotHeight;
    const x = left + i * slot + slot * 0.1;
    const bar = svgElement('rect', {
      x,
      y: top + plotHeight - barHeight,
      width: Math.max(slot * 0.8, 1),
      height: barHeight,
    });
    bar.append(svgElement('title', {}, `${point.label}: ${point.value}`));
    svg.append(bar);
    if (i % labelEvery === 0)
      svg.append(
        svgElement('text', { x: x + slot * 0.4, y: height - bottom + 14, 'text-anchor': 'middle' }, point.label),
      );
  });
  svg.append(
    svgElement('line', { x1: left, y1: top + plotHeight, x2: width - right, y2: top + plotHeight, stroke: '#999' }),
    svgElement('text', { x: left - 6, y: top + 10, 'text-anchor': 'end' }, String(Number(max.toPrecision(4)))),
    svgElement('text', { x: left - 6, y: top + plotHeight, 'text-anchor': 'end' }, '0'),
  );
}

async function drawChart() {
  const [view, metric, bucket] = [$('chart-view').value, $('chart-metric').value, $('chart-bucket').value];
  try {
    const result = await api(`/v1/analytics/${view}?${new URLSearchParams({ metrics: metric, bucket, limit: '500' })}`);
    const labelLength = bucket === 'hour' ? 13 : 10;
    drawBars(
      $('chart'),
      result.rows.map((row) => ({ label: row.bucket.slice(0, labelLength), value: row[metric] ?? 0 })),
    );
    $('chart-error').textContent = '';
  } catch (error) {
    $('chart-error').textContent = error.message;
  }
}

async function start(key) {
  sessionStorage.setItem(KEY, key);
  try {
    views = (await api('/v1/analytics')).views;
  } catch (error) {
    sessionStorage.removeItem(KEY);
    $('login-error').textContent = `Log-in failed: ${error.message}`;
    return;
  }
  $('login').hidden = true;
  $('main').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = key.split('_').slice(0, 2).join('_');
  fillSelect(
    $('chart-view'),
    views.map((v) => v.name),
    'finance_scores',
  );
  onViewChange();
  followScores();
  void drawChart();
  setInterval(drawChart, 30_000);
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  void start($('key').value.trim());
});
$('logout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  location.reload();
});
$('upload-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void followUpload($('upload-id').value.trim());
});
$('chart-view').addEventListener('change', onViewChange);
$('chart-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void drawChart();
});

const saved = sessionStorage.getItem(KEY);
if (saved) void start(saved);
