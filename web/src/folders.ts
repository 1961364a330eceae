import type { Api, FolderEntry } from './api.js';
import { h } from './dom.js';

/**
 * The folder tree (`/services/browse`), loaded one level at a time. Folder names are links, so they work with the
 * keyboard, in new tabs and with the back button; the arrow buttons open and close a level.
 */
export class FolderTree {
  readonly element = h('nav', { class: 'folders', 'aria-label': 'Folders' });
  private readonly expanded = new Set<string>(['/']);
  private readonly children = new Map<string, FolderEntry[]>();
  private selected = '';

  constructor(
    private readonly api: Api,
    private readonly linkTo: (folder: string) => string,
  ) {}

  /** Shows the tree with `folder` selected, opening its ancestors. */
  async show(folder: string): Promise<void> {
    this.selected = folder;
    const parts = folder.split('/').filter(Boolean);
    for (let depth = 1; depth < parts.length; depth += 1) this.expanded.add(`/${parts.slice(0, depth).join('/')}`);
    await this.render();
  }

  /** Forgets what was loaded (after an upload or a new folder) and draws again. */
  async refresh(): Promise<void> {
    this.children.clear();
    await this.render();
  }

  private async load(path: string): Promise<FolderEntry[]> {
    let entries = this.children.get(path);
    if (!entries) {
      const answer = await this.api.get<FolderEntry[]>('services/browse', { path, includeAssets: false, includeFolders: true });
      entries = answer.filter((entry) => entry.directory).sort((a, b) => a.name.localeCompare(b.name));
      this.children.set(path, entries);
    }
    return entries;
  }

  private async render(): Promise<void> {
    const list = h('ul', { class: 'tree' }, h('li', {}, this.link('', 'All assets')));
    list.append(...(await this.renderLevel('/')));
    const focused = document.activeElement?.getAttribute('data-folder');
    this.element.replaceChildren(h('h2', { class: 'sidebar-heading' }, 'Folders'), list);
    if (focused !== null && focused !== undefined) (this.element.querySelector(`[data-folder="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
  }

  private async renderLevel(path: string): Promise<HTMLLIElement[]> {
    const entries = await this.load(path);
    return Promise.all(
      entries.map(async (entry) => {
        const open = this.expanded.has(entry.assetPath);
        const toggle = h(
          'button',
          {
            type: 'button',
            class: 'toggle',
            'aria-expanded': String(open),
            'aria-label': `${open ? 'Close' : 'Open'} ${entry.name}`,
            'data-folder': `toggle:${entry.assetPath}`,
            onclick: () => {
              if (this.expanded.has(entry.assetPath)) this.expanded.delete(entry.assetPath);
              else this.expanded.add(entry.assetPath);
              void this.render();
            },
          },
          open ? '▾' : '▸',
        );
        const item = h('li', {}, toggle, this.link(entry.assetPath, entry.name));
        if (open) {
          const nested = await this.renderLevel(entry.assetPath);
          if (nested.length > 0) item.append(h('ul', {}, nested));
        }
        return item;
      }),
    );
  }

  private link(folder: string, label: string): HTMLAnchorElement {
    return h('a', { href: this.linkTo(folder), 'data-folder': folder, 'aria-current': folder === this.selected ? 'page' : null, 'data-nav': '' }, label);
  }
}
