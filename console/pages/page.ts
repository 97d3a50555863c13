/** A console page: mounted into the main element when its hash route opens, until `signal` aborts. */
export interface Page {
  /** `#/<path>` */
  path: string;
  title: string;
  mount(root: HTMLElement, signal: AbortSignal): void;
}
