import { type Api, ApiError, type FieldInfo, type HistoryEntry, type Hit, type SearchResult } from './api.js';
import { formatBytes, h, replaceChildren, uniqueId } from './dom.js';

const GROUP_LABELS: Record<string, string> = { editorial: 'Description', location: 'Location', system: 'File', technical: 'Technical', custom: 'Custom fields' };
const GROUP_ORDER = ['editorial', 'location', 'system', 'technical', 'custom'];
const STATUSES = ['Draft', 'In progress', 'Review', 'Approved', 'Final', 'Rejected'];
const MAX_TAG_LENGTH = 200;
const MAX_TITLE_LENGTH = 1000;

export interface DetailEvents {
  close(): void;
  /** The asset changed: the grid should show it as it is now. */
  saved(): void;
}

/** The asset view: preview, every metadata field in groups, download, versions, and the metadata editor. */
export class AssetDetail {
  private readonly dialog = h('dialog', { class: 'asset-dialog', 'aria-labelledby': 'asset-title' });
  private fieldInfo: Promise<FieldInfo> | null = null;
  private openId = '';

  constructor(
    private readonly api: Api,
    private readonly events: DetailEvents,
  ) {
    this.dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      this.events.close();
    });
    document.body.append(this.dialog);
  }

  get isOpen(): boolean {
    return this.dialog.open;
  }

  async show(id: string): Promise<void> {
    this.openId = id;
    if (!this.dialog.open) this.dialog.showModal();
    replaceChildren(this.dialog, h('p', { role: 'status' }, 'Loading…'));
    try {
      this.fieldInfo ??= this.api.get<FieldInfo>('services/fieldinfo');
      const [answer, fieldInfo, history] = await Promise.all([
        this.api.get<SearchResult>('services/search', { q: `id:"${id}"`, num: 1, metadataToReturn: 'all', returnHighlightedText: false }),
        this.fieldInfo,
        this.api.get<{ hits: Array<{ usageStatsRecord: { logDate: number; userName: string; action: string }; hit: Hit }> }>('services/asset/history', { id, detailLevel: 1 }).catch(() => ({ hits: [] })),
      ]);
      if (this.openId !== id) return;
      const hit = answer.hits[0];
      if (!hit) {
        replaceChildren(this.dialog, h('h2', { id: 'asset-title' }, 'Asset not found'), h('p', {}, 'It may have been removed or moved out of your reach.'), this.closeButton());
        return;
      }
      const versions: HistoryEntry[] = history.hits.map((entry) => ({
        versionNumber: Number(entry.hit.metadata.versionNumber ?? 0),
        action: entry.usageStatsRecord.action,
        date: entry.usageStatsRecord.logDate,
        user: entry.usageStatsRecord.userName,
        ...(entry.hit.originalUrl ? { originalUrl: entry.hit.originalUrl } : {}),
      }));
      this.render(hit, fieldInfo, versions);
    } catch (error) {
      if (this.openId !== id) return;
      replaceChildren(this.dialog, h('h2', { id: 'asset-title' }, 'This asset cannot be shown'), h('p', { role: 'alert' }, error instanceof ApiError ? error.message : String(error)), this.closeButton());
    }
  }

  hide(): void {
    this.openId = '';
    if (this.dialog.open) this.dialog.close();
    this.dialog.replaceChildren();
  }

  private closeButton(): HTMLButtonElement {
    return h('button', { type: 'button', class: 'close', 'aria-label': 'Close', onclick: () => this.events.close() }, '×');
  }

  private render(hit: Hit, fieldInfo: FieldInfo, versions: HistoryEntry[]): void {
    const name = String(hit.metadata.name ?? hit.metadata.filename ?? hit.id);
    const title = h('h2', { id: 'asset-title', tabindex: '-1' }, name);
    replaceChildren(
      this.dialog,
      h('header', { class: 'asset-header' }, title, this.closeButton()),
      h(
        'div',
        { class: 'asset-body' },
        h('div', { class: 'asset-preview' }, preview(hit, name), hit.originalUrl ? h('a', { class: 'button', href: `${hit.originalUrl}&forceDownload=true`, download: String(hit.metadata.filename ?? name) }, 'Download original') : null),
        h('div', { class: 'asset-info' }, this.editor(hit), metadataGroups(hit, fieldInfo), versionList(versions)),
      ),
    );
    title.focus();
  }

  private editor(hit: Hit): HTMLFormElement {
    const field = (label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string) => {
      const id = uniqueId('edit');
      control.id = id;
      const error = h('span', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
      control.setAttribute('aria-describedby', `${id}-error${hint ? ` ${id}-hint` : ''}`);
      return { control, error, element: h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null, error) };
    };
    const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));
    const tags = Array.isArray(hit.metadata.tags) ? (hit.metadata.tags as string[]) : [];
    const title = field('Title', h('input', { name: 'title', value: text(hit.metadata.title), maxlength: MAX_TITLE_LENGTH }));
    const description = field('Description', h('textarea', { name: 'description', rows: 3 }, text(hit.metadata.description)));
    const tagInput = field('Tags', h('input', { name: 'tags', value: tags.join(', ') }), 'Separate tags with commas');
    const statusList = uniqueId('statuses');
    const status = field('Status', h('input', { name: 'status', value: text(hit.metadata.status), list: statusList }));
    const rating = field(
      'Rating',
      h(
        'select',
        { name: 'rating' },
        h('option', { value: '' }, 'Not rated'),
        h('option', { value: '-1' }, 'Rejected'),
        [0, 1, 2, 3, 4, 5].map((stars) => h('option', { value: String(stars) }, stars === 0 ? 'No stars' : '★'.repeat(stars))),
      ),
    );
    (rating.control as HTMLSelectElement).value = text(hit.metadata.rating);
    const original: Record<string, string | string[]> = {
      title: text(hit.metadata.title),
      description: text(hit.metadata.description),
      tags,
      status: text(hit.metadata.status),
      rating: text(hit.metadata.rating),
    };
    const message = h('p', { class: 'form-message', role: 'status' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
    const form = h(
      'form',
      { class: 'editor', novalidate: true, 'aria-labelledby': 'asset-edit-heading' },
      h('h3', { id: 'asset-edit-heading' }, 'Edit metadata'),
      title.element,
      description.element,
      tagInput.element,
      status.element,
      h('datalist', { id: statusList }, STATUSES.map((value) => h('option', { value }))),
      rating.element,
      h('div', { class: 'form-actions' }, save, message),
    );
    const parseTags = () =>
      tagInput.control.value
        .split(',')
        .map((tag) => tag.trim())
        .filter(Boolean);
    const validate = (): boolean => {
      const problems: Array<[typeof title, string]> = [];
      const tooLong = parseTags().find((tag) => tag.length > MAX_TAG_LENGTH);
      if (tooLong) problems.push([tagInput, `A tag can have at most ${MAX_TAG_LENGTH} characters`]);
      if (title.control.value.length > MAX_TITLE_LENGTH) problems.push([title, `At most ${MAX_TITLE_LENGTH} characters`]);
      for (const entry of [title, description, tagInput, status]) {
        const problem = problems.find(([target]) => target === entry)?.[1] ?? '';
        entry.error.textContent = problem;
        entry.control.setAttribute('aria-invalid', String(problem !== ''));
      }
      problems[0]?.[0].control.focus();
      return problems.length === 0;
    };
    tagInput.control.addEventListener('input', () => validate());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!validate()) return;
      save.disabled = true;
      message.textContent = 'Saving…';
      message.classList.remove('error');
      try {
        const edited: Record<string, string | string[]> = {
          title: title.control.value.trim(),
          description: description.control.value,
          tags: parseTags(),
          status: status.control.value.trim(),
          rating: rating.control.value,
        };
        // Only what the user changed, so a save never undoes someone else's edit of another field.
        const metadata = Object.fromEntries(Object.entries(edited).filter(([name, value]) => JSON.stringify(value) !== JSON.stringify(original[name])));
        if (Object.keys(metadata).length > 0) {
          await this.api.post('services/update', { id: hit.id, metadata: JSON.stringify(metadata) });
          Object.assign(original, metadata);
        }
        message.textContent = 'Saved';
        this.events.saved();
      } catch (error) {
        message.textContent = error instanceof ApiError ? error.message : 'Saving failed';
        message.classList.add('error');
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }
}

function preview(hit: Hit, name: string): HTMLElement {
  const domain = String(hit.metadata.assetDomain ?? '');
  if (hit.previewUrl && domain === 'video') return h('video', { src: hit.previewUrl, controls: true, preload: 'metadata', 'aria-label': `Video preview of ${name}` });
  if (hit.previewUrl) return h('img', { src: hit.previewUrl, alt: `Preview of ${name}` });
  const state = String(hit.metadata.previewState ?? '');
  return h('p', { class: 'no-preview' }, state === 'pending' ? 'The preview is being prepared…' : 'No preview for this file.');
}

function display(value: unknown): string {
  if (Array.isArray(value)) return value.join(', ');
  if (value && typeof value === 'object' && 'formatted' in value) return String((value as { formatted: unknown }).formatted);
  return String(value);
}

function metadataGroups(hit: Hit, fieldInfo: FieldInfo): HTMLElement {
  const groupOf = new Map<string, string>();
  for (const group of fieldInfo.fieldGroups) for (const field of group.fields) groupOf.set(field.name, group.name);
  const grouped = new Map<string, Array<[string, unknown]>>();
  for (const [name, value] of Object.entries(hit.metadata)) {
    if (value === '' || value === null || (Array.isArray(value) && value.length === 0)) continue;
    const group = groupOf.get(name) ?? 'custom';
    grouped.set(group, [...(grouped.get(group) ?? []), [name, value]]);
  }
  const order = [...GROUP_ORDER, ...[...grouped.keys()].filter((group) => !GROUP_ORDER.includes(group))];
  return h(
    'section',
    { class: 'metadata', 'aria-label': 'Metadata' },
    order
      .filter((group) => grouped.has(group))
      .map((group) =>
        h(
          'details',
          { open: group === 'editorial' || group === 'location' || group === 'system' },
          h('summary', {}, GROUP_LABELS[group] ?? group),
          h('dl', {}, grouped.get(group)!.flatMap(([name, value]) => [h('dt', {}, name), h('dd', { 'data-field': name }, name === 'fileSize' && typeof value === 'number' ? formatBytes(value) : display(value))])),
        ),
      ),
  );
}

function versionList(versions: HistoryEntry[]): HTMLElement | null {
  if (versions.length < 2) return null;
  return h(
    'section',
    { class: 'versions', 'aria-labelledby': 'versions-heading' },
    h('h3', { id: 'versions-heading' }, 'Versions'),
    h(
      'ol',
      { reversed: true },
      [...versions]
        .sort((a, b) => b.versionNumber - a.versionNumber)
        .map((version) =>
          h(
            'li',
            {},
            `Version ${version.versionNumber}: ${version.action === 'CREATE' ? 'created' : 'new file'} by ${version.user}, ${new Date(version.date).toLocaleString()} `,
            version.originalUrl ? h('a', { href: `${version.originalUrl}&forceDownload=true`, download: '' }, 'Download') : null,
          ),
        ),
    ),
  );
}
