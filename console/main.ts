/**
 * The console shell: log in with an API key, a nav, and hash-routed pages (`#/<page>`). A page is
 * mounted when its route opens and stopped (streams closed, charts removed) when another does.
 */
import 'uplot/dist/uPlot.min.css';
import './console.css';
import { getJson, session } from './lib/api.ts';
import { el } from './lib/dom.ts';
import { PAGES } from './pages/index.ts';

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const [nav, main, who, logout] = [byId('nav'), byId('page'), byId('who'), byId<HTMLButtonElement>('logout')];
const links = PAGES.map((page) => el('a', { href: `#/${page.path}` }, page.title));
let open: AbortController | undefined;

function route(): void {
  const page = PAGES.find((p) => location.hash === `#/${p.path}`) ?? PAGES[0]!;
  open?.abort();
  open = new AbortController();
  for (const [i, link] of links.entries())
    if (PAGES[i] === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  document.title = `${page.title} · Millrace`;
  main.replaceChildren();
  main.dataset.page = page.path;
  page.mount(main, open.signal);
}

async function start(key: string): Promise<void> {
  session.save(key);
  try {
    await getJson('/v1/analytics'); // any read: is the key good?
  } catch (error) {
    session.clear();
    byId('login-error').textContent = `Log-in failed: ${error instanceof Error ? error.message : String(error)}`;
    return;
  }
  byId('login').hidden = true;
  [nav.hidden, main.hidden, logout.hidden] = [false, false, false];
  who.textContent = key.split('_').slice(0, 2).join('_');
  addEventListener('hashchange', route);
  route();
}

nav.append(...links);
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
