/**
 * The console's browser tests share this: `millrace api` as a child process (./api-child.ts), headless Chromium
 * (Debian's) that records every console error and page error, screenshots checked to be PNGs, and
 * what a uPlot chart drew (its legend, the pixels of its axes and plot, the values at its last point).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureChromium } from '../infra/chromium.ts';
import { startApi } from './api-child.ts';

export interface ConsoleBrowser {
  /** the API's base URL */
  url: string;
  page: Page;
  /** console errors and page errors, in order */
  errors: string[];
  /** a full-page screenshot `<name>.png` in this run's directory (its path is printed) */
  screenshot(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** A full-page PNG in `dir`, checked to be one; its path goes to stderr. */
export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const png = readFileSync(file);
  assert.ok(png.length > 1000, `${png.length} bytes`);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  process.stderr.write(`console screenshot: ${file}\n`);
  return file;
}

/** The API and a browser page on it (1280×1000, UTC); screenshots go to a new `<prefix>…` temp directory. */
export async function openConsole(prefix: string): Promise<ConsoleBrowser> {
  const executablePath = await ensureChromium();
  const api = await startApi();
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] }); // root in CI: no user namespaces for the sandbox
  } catch (error) {
    await api.stop();
    throw error;
  }
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, timezoneId: 'UTC' });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  const screenshots = mkdtempSync(path.join(tmpdir(), prefix));
  return {
    url: api.url,
    page,
    errors,
    async screenshot(name) {
      await screenshot(page, screenshots, name);
    },
    async stop() {
      await browser.close();
      await api.stop();
    },
  };
}

/** The number format of the console's legends and tooltips (console/lib/charts.ts). */
export const shown = (value: number): string => Number(value.toPrecision(6)).toLocaleString('en');

export interface ChartState {
  legend: string[];
  /** painted pixels left of the plot (the y axis), right of it (a second y axis), below it (the x axis), and in it */
  ink: { yAxis: number; rightAxis: number; xAxis: number; plot: number };
}

/** What a uPlot chart in `selector` drew: its legend's labels and the pixels painted around and in its plot. */
export function chartState(page: Page, selector: string): Promise<ChartState> {
  return page.$eval(selector, (box) => {
    const canvas = box.querySelector('canvas')!;
    const over = box.querySelector('.u-over')!.getBoundingClientRect();
    const c = canvas.getBoundingClientRect();
    const ratio = canvas.width / c.width;
    const context = canvas.getContext('2d')!;
    // no named inner functions: tsx would wrap them in a helper the page does not have
    const [yAxis, rightAxis, xAxis, plot] = [
      [0, over.top - c.top, over.left - c.left, over.height],
      [over.right - c.left, over.top - c.top, c.right - over.right, over.height],
      [over.left - c.left, over.bottom - c.top, over.width, c.bottom - over.bottom],
      [over.left - c.left, over.top - c.top, over.width, over.height],
    ].map(([x, y, w, h]) => {
      const data = context.getImageData(x! * ratio, y! * ratio, Math.max(w! * ratio, 1), Math.max(h! * ratio, 1)).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n;
    });
    return {
      legend: [...box.querySelectorAll('.u-legend .u-series .u-label')].map((l) => l.textContent ?? ''),
      ink: { yAxis: yAxis!, rightAxis: rightAxis!, xAxis: xAxis!, plot: plot! },
    };
  });
}

/** Moves the mouse onto the chart's last x value; returns the legend's values there by label. */
export async function valuesAtLastPoint(page: Page, selector: string): Promise<Record<string, string>> {
  const over = (await page.$(`${selector} .u-over`))!;
  await over.scrollIntoViewIfNeeded();
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
  await page.waitForSelector(`${selector} .chart-tip:not([hidden])`);
  return page.$eval(selector, (chart) =>
    Object.fromEntries(
      [...chart.querySelectorAll('.u-legend .u-series')].map((row) => [
        row.querySelector('.u-label')?.textContent ?? '',
        row.querySelector('.u-value')?.textContent ?? '',
      ]),
    ),
  );
}

export function assertDrawn(state: ChartState, legend: string[], what: string): void {
  assert.deepEqual(state.legend, legend, `${what}: the legend`);
  assert.ok(state.ink.yAxis > 50, `${what}: the y axis has ticks and a label (${state.ink.yAxis} pixels)`);
  assert.ok(state.ink.xAxis > 50, `${what}: the x axis has ticks and a label (${state.ink.xAxis} pixels)`);
  assert.ok(state.ink.plot > 200, `${what}: the plot has data (${state.ink.plot} pixels)`);
}

/** Logs in with `key` on the console's form and waits for the nav; returns the nav's page titles. */
export async function logIn(page: Page, url: string, key: string): Promise<string[]> {
  await page.goto(`${url}/console`);
  await page.fill('#key', key);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#nav a');
  return page.$$eval('#nav a', (links) => links.map((a) => a.textContent ?? ''));
}

/**
 * The share of the plot's width over which a series of colour `hex` (#rrggbb) is drawn: a line
 * squeezed into a few columns (a wrong x scale) has a small one.
 */
export function strokeSpan(page: Page, selector: string, hex: string): Promise<number> {
  return page.$eval(
    selector,
    (box, rgb) => {
      const canvas = box.querySelector('canvas')!;
      const over = box.querySelector('.u-over')!.getBoundingClientRect();
      const c = canvas.getBoundingClientRect();
      const ratio = canvas.width / c.width;
      const [x, y] = [(over.left - c.left) * ratio, (over.top - c.top) * ratio];
      const [w, h] = [Math.floor(over.width * ratio), Math.floor(over.height * ratio)];
      const data = canvas.getContext('2d')!.getImageData(x, y, w, h).data;
      let [first, last] = [w, -1];
      for (let i = 0; i < data.length; i += 4) {
        const near =
          Math.abs(data[i]! - rgb[0]!) + Math.abs(data[i + 1]! - rgb[1]!) + Math.abs(data[i + 2]! - rgb[2]!) < 30;
        if (!near || data[i + 3]! < 200) continue;
        const column = (i / 4) % w;
        [first, last] = [Math.min(first, column), Math.max(last, column)];
      }
      return last < first ? 0 : (last - first + 1) / w;
    },
    [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)),
  );
}

/** Moves the mouse onto the chart's last x value; returns the legend's values there by label. */

/** The cells of each row of a table body, as text. */
export const tableRows = (page: Page, selector: string): Promise<string[][]> =>
  page.$$eval(`${selector} tbody tr`, (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')),
  );
