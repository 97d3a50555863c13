/**
 * The console shell: log in with an API key, a nav of the pages its role may see, and hash-routed
 * pages (`#/<page>`). A page is mounted when its route opens and stopped (streams closed, charts
 * removed, refreshes ended) when another does.
 */
import 'uplot/dist/uPlot.min.css';
import './console.css';
import { getJson, session } from './lib/api.ts';
import { el } from './lib/dom.ts';
import { can, type Me } from './lib/me.ts';
import { PAGES } from './pages/index.ts';
import type { Page } from './pages/page.ts';

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const [nav, main, who, logout] = [byId('nav'), byId('page'), byId('who'), byId<HTMLButtonElement>('logout')];
let open: AbortController | undefined;

function route(me: Me, pages: readonly Page[], links: readonly HTMLAnchorElement[]): void {
  const page = pages.find((p) => location.hash === `#/${p.path}`) ?? pages[0]!;
  open?.abort();
  open = new AbortController();
  for (const [i, link] of links.entries())
    if (pages[i] === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  document.title = `${page.title} · Millrace`;
  main.replaceChildren();
  main.dataset.page = page.path;
  page.mount(main, open.signal, me);
}

async function start(key: string): Promise<void> {
  session.save(key);
  let me: Me;
  try {
    me = await getJson<Me>('/v1/me');
  } catch (error) {
    session.clear();
    byId('login-error').textContent = `Log-in failed: ${error instanceof Error ? error.message : String(error)}`;
    return;
  }
  const pages = PAGES.filter((page) => can(me, page.needs ?? 'read'));
  const links = pages.map((page) => el('a', { href: `#/${page.path}` }, page.title));
  nav.replaceChildren(...links);
  byId('login').hidden = true;
  [nav.hidden, main.hidden, logout.hidden] = [false, false, false];
  who.replaceChildren(
    key.split('_').slice(0, 2).join('_'),
    ' ',
    el('span', { id: 'role', className: 'key-role', title: `tenant ${me.tenant_id}` }, me.role),
  );
  addEventListener('hashchange', () => route(me, pages, links));
  route(me, pages, links);
}

byId('login').addEventListener('submit', (event) => {
  event.preventDefault();
  void start(byId<HTMLInputElement>('key').value.trim());
});
logout.addEventListener('click', () => {
  session.clear();
  location.reload();
});
const saved = session.key();
if (saved) void start(saved);
