/** Building DOM without markup strings: the CSP allows no inline style, and text never becomes HTML. */
type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Omit<HTMLElementTagNameMap[K], 'dataset'>> & { dataset?: Record<string, string> } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const { dataset, ...rest } = props;
  const element = Object.assign(document.createElement(tag), rest);
  if (dataset) Object.assign(element.dataset, dataset);
  for (const child of children)
    if (child !== null && child !== undefined && child !== false)
      element.append(typeof child === 'number' ? String(child) : child);
  return element;
}

export function options(select: HTMLSelectElement, values: readonly string[], preferred?: string): void {
  select.replaceChildren(...values.map((value) => new Option(value, value)));
  if (preferred !== undefined && values.includes(preferred)) select.value = preferred;
}

/** A `<p class="error">` that shows an error's message, or nothing. */
export function errorLine(): { element: HTMLParagraphElement; show: (error: unknown) => void; clear: () => void } {
  const element = el('p', { className: 'error', role: 'alert' });
  return {
    element,
    show: (error) => (element.textContent = error instanceof Error ? error.message : String(error)),
    clear: () => (element.textContent = ''),
  };
}

/** ISO time to the second, UTC: what every table shows. */
export const isoSecond = (time: string | number | Date): string =>
  new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
