/** What the user is looking at, kept in the URL so that back, forward, reload and links all work. */

export const FACET_FIELDS = ['assetDomain', 'tags', 'status', 'extension'] as const;
export type FacetField = (typeof FACET_FIELDS)[number];

export interface ViewState {
  /** The user's query in the Assets query language ('' = everything). */
  q: string;
  /** The folder being browsed ('' = all folders). */
  folder: string;
  sort: string;
  selections: Partial<Record<FacetField, string[]>>;
  /** The asset shown in the detail view. */
  asset: string;
}

export const DEFAULT_SORT = 'assetCreated-desc';

export const SORT_OPTIONS: ReadonlyArray<{ value: string; label: string }> = [
  { value: 'assetCreated-desc', label: 'Newest first' },
  { value: 'assetCreated-asc', label: 'Oldest first' },
  { value: 'assetModified-desc', label: 'Recently modified' },
  { value: 'name-asc', label: 'Name A–Z' },
  { value: 'name-desc', label: 'Name Z–A' },
  { value: 'fileSize-desc', label: 'Largest first' },
  { value: 'rating-desc', label: 'Highest rated' },
  { value: 'relevance', label: 'Relevance' },
];

export function readState(search = location.search): ViewState {
  const params = new URLSearchParams(search);
  const selections: ViewState['selections'] = {};
  for (const field of FACET_FIELDS) {
    const values = params.getAll(`f.${field}`).filter(Boolean);
    if (values.length > 0) selections[field] = values;
  }
  const sort = params.get('sort') ?? DEFAULT_SORT;
  return {
    q: params.get('q') ?? '',
    folder: params.get('folder') ?? '',
    sort: SORT_OPTIONS.some((option) => option.value === sort) ? sort : DEFAULT_SORT,
    selections,
    asset: params.get('asset') ?? '',
  };
}

export function stateUrl(state: ViewState): string {
  const params = new URLSearchParams();
  if (state.q) params.set('q', state.q);
  if (state.folder) params.set('folder', state.folder);
  if (state.sort !== DEFAULT_SORT) params.set('sort', state.sort);
  for (const field of FACET_FIELDS) for (const value of state.selections[field] ?? []) params.append(`f.${field}`, value);
  if (state.asset) params.set('asset', state.asset);
  const query = params.toString();
  return `${location.pathname}${query ? `?${query}` : ''}`;
}

/** The query sent to the server: the user's query, limited to the folder being browsed (and everything below it). */
export function effectiveQuery(state: ViewState): string {
  const parts: string[] = [];
  if (state.q.trim()) parts.push(`(${state.q.trim()})`);
  if (state.folder) parts.push(`ancestorPaths:"${state.folder.replace(/["\\]/g, '\\$&')}"`);
  return parts.length === 0 ? '*:*' : parts.join(' AND ');
}

/** The same view without the detail, or without the search details, so a change starts from page one. */
export function withoutAsset(state: ViewState): ViewState {
  return { ...state, asset: '' };
}
