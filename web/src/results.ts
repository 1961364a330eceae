import { type Api, ApiError, type FacetValue, type Hit, type SearchResult } from './api.js';
import { h, replaceChildren } from './dom.js';
import { effectiveQuery, FACET_FIELDS, type FacetField, SORT_OPTIONS, type ViewState } from './state.js';

const PAGE_SIZE = 60;
/** The server never returns hits beyond this (protocol §3.3). */
const MAX_RESULT_HITS = 10_000;
const FACET_LABELS: Record<FacetField, string> = { assetDomain: 'Type', tags: 'Tags', status: 'Status', extension: 'Extension' };
/** Values listed per facet, besides the selected ones. */
const FACET_VALUES_SHOWN = 15;
const GRID_FIELDS = 'name,filename,assetDomain,extension,fileSize,thumbnailState,previewState,assetPath';
const THUMBNAIL_POLL_MS = 1500;
const THUMBNAIL_POLL_LIMIT = 80;

export interface ResultsEvents {
  /** The URL of the same view changed by `change` (for links and navigation). */
  urlFor(change: Partial<ViewState>): string;
  navigate(change: Partial<ViewState>): void;
}

/** The search results: facet filters, the sort, the count and a thumbnail grid that loads more as you scroll. */
export class Results {
  readonly filters = h('section', { class: 'filters', 'aria-labelledby': 'filters-heading' });
  readonly element = h('section', { class: 'results', 'aria-labelledby': 'results-heading' });
  private readonly heading = h('h2', { id: 'results-heading', tabindex: '-1' });
  private readonly status = h('p', { class: 'status', role: 'status' });
  private readonly grid = h('ul', { class: 'grid', 'aria-labelledby': 'results-heading' });
  private readonly more = h('button', { type: 'button', class: 'more', hidden: true, onclick: () => void this.loadMore() }, 'Show more');
  private readonly sort = h('select', { id: 'sort', onchange: () => this.events.navigate({ sort: this.sort.value }) });
  private readonly toolbar = h('div', { class: 'toolbar' });
  private readonly observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) void this.loadMore();
  }, { rootMargin: '600px' });
  private state: ViewState | null = null;
  private key = '';
  private loaded = 0;
  private total = 0;
  private loading: Promise<void> | null = null;
  /** Bumped by every new search, so answers to an older one are dropped. */
  private generation = 0;
  /** Cancels the requests of the current search when a newer one starts: the server then need not run them. */
  private searching = new AbortController();
  private pollTimer: number | undefined;
  private polls = 0;

  constructor(
    private readonly api: Api,
    private readonly events: ResultsEvents,
    toolbarExtras: HTMLElement[],
  ) {
    for (const option of SORT_OPTIONS) this.sort.append(h('option', { value: option.value }, option.label));
    this.toolbar.append(h('div', { class: 'sort' }, h('label', { for: 'sort' }, 'Sort by'), this.sort), ...toolbarExtras);
    this.element.append(this.heading, this.toolbar, this.status, this.grid, this.more);
    this.observer.observe(this.more);
  }

  /** Shows the results for `state`; does nothing if only the open asset changed. */
  async show(state: ViewState, force = false): Promise<void> {
    const key = JSON.stringify([effectiveQuery(state), state.sort, state.selections]);
    this.state = state;
    if (key === this.key && !force) return;
    this.key = key;
    this.generation += 1;
    this.searching.abort();
    this.searching = new AbortController();
    this.loaded = 0;
    this.total = 0;
    this.polls = 0;
    this.sort.value = state.sort;
    this.status.textContent = 'Searching…';
    this.element.setAttribute('aria-busy', 'true');
    this.loading = this.fetchPage(this.generation, true);
    // Facets come in a search of their own: on a large library counting them takes far longer than the page of
    // hits (1,000,000 assets: up to seconds against milliseconds), and the hits need not wait for them.
    void this.fetchFacets(this.generation);
    await this.loading;
  }

  refresh(): Promise<void> {
    return this.state ? this.show(this.state, true) : Promise.resolve();
  }

  private async loadMore(): Promise<void> {
    if (this.loading || this.loaded >= Math.min(this.total, MAX_RESULT_HITS) || this.loaded === 0) return;
    this.loading = this.fetchPage(this.generation, false);
    await this.loading;
  }

  private async fetchPage(generation: number, first: boolean): Promise<void> {
    const state = this.state!;
    try {
      const answer = await this.api.get<SearchResult>('services/search', {
        ...this.filtered(state),
        start: first ? 0 : this.loaded,
        num: first ? PAGE_SIZE : Math.min(PAGE_SIZE, MAX_RESULT_HITS - this.loaded),
        sort: state.sort,
        metadataToReturn: GRID_FIELDS,
        returnHighlightedText: false,
      }, this.searching.signal);
      if (generation !== this.generation) return;
      if (first) this.grid.replaceChildren();
      this.total = answer.totalHits;
      this.loaded += answer.hits.length;
      this.grid.append(...answer.hits.map((hit) => this.tile(hit)));
      this.renderStatus();
      this.schedulePoll();
    } catch (error) {
      if (generation !== this.generation) return;
      this.status.textContent = error instanceof ApiError ? error.message : 'The search failed';
      this.status.classList.add('error');
      if (first) this.grid.replaceChildren();
    } finally {
      if (generation === this.generation) {
        this.loading = null;
        this.element.removeAttribute('aria-busy');
      }
    }
  }

  /** The facet counts of the current search. Until they come, the filters of the previous one show, dimmed. */
  private async fetchFacets(generation: number): Promise<void> {
    const state = this.state!;
    this.filters.setAttribute('aria-busy', 'true');
    try {
      const answer = await this.api.get<SearchResult>('services/search', { ...this.filtered(state), num: 0, facets: FACET_FIELDS.join(',') }, this.searching.signal);
      if (generation === this.generation) this.renderFilters(answer.facets ?? {});
    } catch (error) {
      // Selected filters stay shown, so that they can still be cleared. A query the server refused (400) is
      // already reported above the results.
      const message = error instanceof ApiError ? (error.status === 400 ? undefined : error.message) : 'The filters could not be loaded';
      if (generation === this.generation) this.renderFilters({}, { message });
    } finally {
      if (generation === this.generation) this.filters.removeAttribute('aria-busy');
    }
  }

  /** The query and the selected facet values: what the hits and the facet counts are of. */
  private filtered(state: ViewState): Record<string, string> {
    const selections = FACET_FIELDS.filter((field) => state.selections[field]?.length).map((field) => [`facet.${field}.selection`, state.selections[field]!.join(',')]);
    return { q: effectiveQuery(state), ...Object.fromEntries(selections) };
  }

  private renderStatus(): void {
    const state = this.state!;
    const count = `${this.total.toLocaleString()} ${this.total === 1 ? 'asset' : 'assets'}`;
    this.heading.textContent = state.folder ? `${state.folder.split('/').pop()}: ${count}` : state.q ? `Results: ${count}` : `All assets: ${count}`;
    this.status.classList.remove('error');
    const shown = Math.min(this.total, MAX_RESULT_HITS);
    this.status.textContent =
      this.total === 0
        ? state.q || Object.keys(state.selections).length > 0
          ? 'No assets match. Try other words, or clear the filters.'
          : 'No assets here yet. Drop files on this page or use Upload.'
        : this.total > MAX_RESULT_HITS && this.loaded >= shown
          ? `Showing the first ${MAX_RESULT_HITS.toLocaleString()}; narrow the search to see the rest.`
          : '';
    this.more.hidden = this.loaded >= shown;
  }

  private tile(hit: Hit): HTMLLIElement {
    const name = String(hit.metadata.name ?? hit.metadata.filename ?? hit.id);
    const pending = !hit.thumbnailUrl && hit.metadata.thumbnailState !== 'no' && hit.metadata.thumbnailState !== 'failed';
    const picture = hit.thumbnailUrl
      ? h('img', { src: hit.thumbnailUrl, alt: '', loading: 'lazy', decoding: 'async' })
      : h('span', { class: 'placeholder', 'aria-hidden': 'true' }, pending ? 'Preparing preview…' : String(hit.metadata.extension ?? '').toUpperCase() || 'No preview');
    return h(
      'li',
      { 'data-id': hit.id, 'data-pending': pending ? 'true' : null },
      h('a', { href: this.events.urlFor({ asset: hit.id }), 'data-nav': '', class: 'tile' }, picture, h('span', { class: 'tile-name' }, name)),
    );
  }

  /** New uploads get their thumbnails in the background: ask again for the tiles still waiting. */
  private schedulePoll(): void {
    window.clearTimeout(this.pollTimer);
    const waiting = [...this.grid.querySelectorAll<HTMLLIElement>('li[data-pending]')].map((item) => item.dataset.id!);
    if (waiting.length === 0 || this.polls >= THUMBNAIL_POLL_LIMIT) return;
    const generation = this.generation;
    this.pollTimer = window.setTimeout(async () => {
      this.polls += 1;
      try {
        const answer = await this.api.get<SearchResult>('services/search', { q: `id:(${waiting.slice(0, 100).map((id) => `"${id}"`).join(' OR ')})`, num: 100, metadataToReturn: GRID_FIELDS });
        if (generation !== this.generation) return;
        for (const hit of answer.hits) {
          const item = this.grid.querySelector(`li[data-id="${CSS.escape(hit.id)}"]`);
          if (!item || (!hit.thumbnailUrl && hit.metadata.thumbnailState === 'pending')) continue;
          item.replaceWith(this.tile(hit));
        }
      } catch {
        // Polling is best effort; the next search shows the thumbnails anyway.
      }
      if (generation === this.generation) this.schedulePoll();
    }, THUMBNAIL_POLL_MS);
  }

  /** `failure`: the counts could not be had; its message is undefined when the results report it already. */
  private renderFilters(facets: Record<string, FacetValue[]>, failure?: { message: string | undefined }): void {
    const state = this.state!;
    const groups = FACET_FIELDS.map((field) => {
      const values = facets[field] ?? [];
      const selected = new Set(state.selections[field] ?? []);
      // The server lists every selected value; without counts (they failed) they are still shown, to let go of.
      for (const value of selected) if (!values.some((entry) => entry.value === value)) values.push({ value, hitCount: 0, selected: true });
      if (values.length === 0) return null;
      return h(
        'fieldset',
        { class: 'facet' },
        h('legend', {}, FACET_LABELS[field]),
        // The most frequent values, and the selected ones wherever they are in the list.
        values.filter((entry, index) => index < FACET_VALUES_SHOWN || selected.has(entry.value)).map((entry) => {
          // By value, so that focus stays put across renders, and one to one: `a b` and `a_b` must not share a label.
          const id = `facet-${field}-${entry.value.replace(/[^A-Za-z0-9-]/g, (c) => `_${c.codePointAt(0)!.toString(16)}_`)}`;
          const box = h('input', {
            type: 'checkbox',
            id,
            checked: selected.has(entry.value),
            onchange: () => {
              // The selections now: these filters stay clickable while the counts of a newer search load.
              const current = this.state!.selections;
              const next = new Set(current[field] ?? []);
              if (box.checked) next.add(entry.value);
              else next.delete(entry.value);
              this.events.navigate({ selections: { ...current, [field]: [...next] } });
            },
          });
          // Without counts (they failed), a selected value shows no made-up "(0)".
          const count = failure ? null : h('span', { class: 'count' }, `(${entry.hitCount.toLocaleString()})`);
          return h('div', { class: 'facet-value' }, box, h('label', { for: id }, entry.value, ' ', count));
        }),
      );
    });
    const active = Object.values(state.selections).some((values) => values && values.length > 0);
    const focused = this.filters.contains(document.activeElement) ? document.activeElement!.id : '';
    replaceChildren(
      this.filters,
      h('h2', { id: 'filters-heading', class: 'sidebar-heading' }, 'Filters'),
      active ? h('a', { href: this.events.urlFor({ selections: {} }), 'data-nav': '', class: 'clear' }, 'Clear filters') : null,
      failure?.message ? h('p', { class: 'status error', role: 'status' }, failure.message) : null,
      groups,
    );
    if (focused) (document.getElementById(focused) ?? document.getElementById('results-heading'))?.focus();
  }
}
