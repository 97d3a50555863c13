import type { Me, Permission } from '../lib/me.ts';

/** A console page: mounted into the main element when its hash route opens, until `signal` aborts. */
export interface Page {
  /** `#/<path>` */
  path: string;
  title: string;
  /** shown only to a key with this permission (default read) */
  needs?: Permission;
  mount(root: HTMLElement, signal: AbortSignal, me: Me): void;
}
