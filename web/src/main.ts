import { Api, BASE_PATH, type Profile } from './api.js';
import { AssetDetail } from './detail.js';
import { h } from './dom.js';
import { FolderTree } from './folders.js';
import { askForLogin } from './login.js';
import { Results } from './results.js';
import { readState, stateUrl, type ViewState, withoutAsset } from './state.js';
import { Uploads } from './uploads.js';

/** The Damson web client: everything it shows comes from the public `/services/*` API. */
async function start(): Promise<void> {
  const api = new Api();
  api.onUnauthorized = () => askForLogin(api, 'Your session has ended. Log in again to carry on; nothing you typed is lost.');
  if (!api.hasSession) await askForLogin(api);
  const profile = await api.get<Profile>('services/profile');

  let state = readState();
  const urlFor = (change: Partial<ViewState>) => stateUrl({ ...state, asset: '', ...change });
  const navigate = (change: Partial<ViewState>, replace = false) => {
    const next = { ...state, asset: '', ...change };
    history[replace ? 'replaceState' : 'pushState'](null, '', stateUrl(next));
    void render(next);
  };

  const tree = new FolderTree(api, (folder) => urlFor({ folder }));
  const uploads = new Uploads(api, () => state.folder, () => {
    void results.refresh();
    void tree.refresh();
  });
  const results = new Results(api, { urlFor, navigate }, [uploads.button]);
  let returnFocusTo: string | null = null;
  const detail = new AssetDetail(api, {
    close: () => navigate(withoutAsset(state)),
    saved: () => void results.refresh(),
  });

  const search = h('input', { id: 'q', type: 'search', name: 'q', autocomplete: 'off', placeholder: 'Search: sunset, tags:beach, rating:[4 TO 5]' });
  const searchForm = h(
    'form',
    { role: 'search', class: 'search' },
    h('label', { for: 'q', class: 'visually-hidden' }, 'Search assets'),
    search,
    h('button', { type: 'submit' }, 'Search'),
  );
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    navigate({ q: search.value.trim() });
  });
  const logout = h('button', { type: 'button', class: 'logout' }, 'Log out');
  logout.addEventListener('click', async () => {
    logout.disabled = true;
    await api.logout().catch(() => undefined);
    leave();
  });

  const main = h('main', { id: 'main', tabindex: '-1' }, uploads.panel, results.element);
  const shell = h(
    'div',
    { class: 'shell' },
    h('a', { href: '#main', class: 'skip-link' }, 'Skip to results'),
    h(
      'header',
      { class: 'topbar' },
      h('a', { href: BASE_PATH, class: 'brand', 'data-nav': '' }, 'Damson'),
      searchForm,
      h('span', { class: 'user', title: profile.username }, profile.fullName),
      logout,
    ),
    h('div', { class: 'layout' }, h('aside', { class: 'sidebar' }, tree.element, results.filters), main),
  );
  document.getElementById('app')!.replaceChildren(shell);
  uploads.acceptDrops(main);

  // Links marked data-nav stay inside the client (unless the user asks for a new tab).
  document.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest?.('a[data-nav]') as HTMLAnchorElement | null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    const opened = link.closest('li[data-id]')?.getAttribute('data-id');
    if (opened) returnFocusTo = opened;
    history.pushState(null, '', link.href);
    void render(readState());
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === '/' && !detail.isOpen && !(event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement)) {
      event.preventDefault();
      search.focus();
    }
  });
  window.addEventListener('popstate', () => void render(readState()));

  async function render(next: ViewState): Promise<void> {
    const searchChanged = next.q !== state.q || next.folder !== state.folder || next.sort !== state.sort || JSON.stringify(next.selections) !== JSON.stringify(state.selections);
    state = next;
    search.value = next.q;
    document.title = next.q ? `${next.q} · Damson` : next.folder ? `${next.folder} · Damson` : 'Damson';
    if (next.asset) {
      void detail.show(next.asset);
    } else if (detail.isOpen) {
      detail.hide();
      const tile = returnFocusTo ? document.querySelector<HTMLElement>(`li[data-id="${CSS.escape(returnFocusTo)}"] a`) : null;
      tile?.focus();
    }
    await Promise.all([results.show(next), tree.show(next.folder)]);
    if (searchChanged && !next.asset && document.activeElement === document.body) document.getElementById('results-heading')?.focus();
  }

  await render(state);
}

/** After logout nothing private may stay on screen, in this page or in the back/forward cache. */
function leave(): void {
  document.getElementById('app')?.replaceChildren();
  for (const dialog of document.querySelectorAll('dialog')) dialog.remove();
  location.replace(BASE_PATH);
}

window.addEventListener('pageshow', (event) => {
  // A page restored from the back/forward cache after a logout must not show what it showed before.
  if (event.persisted && !sessionStorage.getItem('damson.csrf')) {
    document.getElementById('app')?.replaceChildren();
    location.reload();
  }
});

start().catch((error: unknown) => {
  document.getElementById('app')!.replaceChildren(h('p', { role: 'alert', class: 'fatal' }, `Damson could not start: ${error instanceof Error ? error.message : String(error)}`));
});
