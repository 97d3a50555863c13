/** Tables built from rows of cells: the product pages show most API answers as one. */
import { el } from './dom.ts';

type Cell = Node | string | number | null | undefined;

/** `<table id>` with a header row; returns it and its body, to fill with `row`. */
export function dataTable(
  id: string,
  head: readonly string[],
): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = el('tbody');
  const table = el('table', { id }, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), body);
  return { table, body };
}

/** A `<tr>` of cells (null shows as —), with `data-*` attributes. */
export const row = (cells: readonly Cell[], dataset: Record<string, string> = {}): HTMLTableRowElement =>
  el('tr', { dataset }, ...cells.map((cell) => el('td', {}, cell ?? '—')));

/** A number as the tables show it: six significant digits at most. */
export const num = (value: number | null | undefined): string =>
  value === null || value === undefined ? '—' : String(Number(value.toPrecision(6)));
