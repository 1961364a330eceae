import { type Api, ApiError } from './api.js';
import { formatBytes, h } from './dom.js';

/** Where files go when no folder is open. */
export const DEFAULT_UPLOAD_FOLDER = '/Uploads';
const PARALLEL_UPLOADS = 3;

interface Upload {
  file: File;
  folder: string;
  row: HTMLLIElement;
  progress: HTMLProgressElement;
  status: HTMLElement;
  actions: HTMLElement;
  abort?: () => void;
  state: 'waiting' | 'sending' | 'done' | 'failed' | 'cancelled';
  /** Whether sending it again could work (not after the server refused the file itself). */
  retryable: boolean;
}

/**
 * Uploads by file picker or drag and drop into the open folder: a few at a time, each with its own progress bar,
 * a cancel button, and the server's message when it refuses one (too large, invalid name, …).
 */
export class Uploads {
  readonly button: HTMLElement;
  readonly panel = h('section', { class: 'uploads', 'aria-labelledby': 'uploads-heading', hidden: true });
  private readonly list = h('ul', {});
  private readonly queue: Upload[] = [];
  private running = 0;

  constructor(
    private readonly api: Api,
    private readonly currentFolder: () => string,
    private readonly uploaded: () => void,
  ) {
    const input = h('input', { type: 'file', multiple: true, id: 'upload-input', class: 'visually-hidden' });
    input.addEventListener('change', () => {
      if (input.files) this.add([...input.files]);
      input.value = '';
    });
    this.button = h('div', { class: 'upload-button' }, input, h('label', { for: 'upload-input', class: 'button primary' }, 'Upload'));
    const clear = h('button', { type: 'button', class: 'link', onclick: () => this.clearFinished() }, 'Clear finished');
    this.panel.append(h('div', { class: 'uploads-header' }, h('h2', { id: 'uploads-heading' }, 'Uploads'), clear), this.list);
  }

  /** Lets files be dropped anywhere on `target`. */
  acceptDrops(target: HTMLElement): void {
    const hasFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') ?? false;
    target.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      target.classList.add('dropping');
    });
    target.addEventListener('dragleave', (event) => {
      if (event.relatedTarget === null || !target.contains(event.relatedTarget as Node)) target.classList.remove('dropping');
    });
    target.addEventListener('drop', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      target.classList.remove('dropping');
      this.add([...(event.dataTransfer?.files ?? [])]);
    });
  }

  add(files: File[]): void {
    const folder = this.currentFolder() || DEFAULT_UPLOAD_FOLDER;
    for (const file of files) {
      const progress = h('progress', { max: 1, value: 0, 'aria-label': `Upload of ${file.name}` });
      const status = h('span', { class: 'upload-status' }, `Waiting (${formatBytes(file.size)}) for ${folder}`);
      const actions = h('span', { class: 'upload-actions' });
      const row = h('li', { class: 'upload' }, h('span', { class: 'upload-name' }, file.name), progress, status, actions);
      const upload: Upload = { file, folder, row, progress, status, actions, state: 'waiting', retryable: true };
      this.setActions(upload);
      this.queue.push(upload);
      this.list.append(row);
    }
    this.panel.hidden = false;
    this.pump();
  }

  private pump(): void {
    while (this.running < PARALLEL_UPLOADS) {
      const next = this.queue.find((upload) => upload.state === 'waiting');
      if (!next) return;
      void this.send(next);
    }
  }

  private async send(upload: Upload): Promise<void> {
    this.running += 1;
    upload.state = 'sending';
    upload.status.textContent = 'Uploading…';
    const { done, abort } = this.api.upload(upload.file, { folderPath: upload.folder }, (fraction) => {
      upload.progress.value = fraction;
      upload.status.textContent = fraction < 1 ? `${Math.round(fraction * 100)}%` : 'Processing…';
    });
    upload.abort = abort;
    this.setActions(upload);
    try {
      await done;
      upload.state = 'done';
      upload.progress.value = 1;
      upload.status.textContent = 'Uploaded';
      this.uploaded();
    } catch (error) {
      if (upload.state === 'sending') {
        upload.state = 'failed';
        upload.status.textContent = describeFailure(error);
        upload.retryable = !(error instanceof ApiError) || error.status === 0 || error.status === 401 || error.status >= 500;
        upload.row.classList.add('failed');
        // A session that ended mid-upload: log in again, then send the file once more.
        if (error instanceof ApiError && error.status === 401) void this.api.onUnauthorized().then(() => this.retry(upload));
      }
    } finally {
      this.running -= 1;
      delete upload.abort;
      this.setActions(upload);
      this.pump();
    }
  }

  private setActions(upload: Upload): void {
    const button = (label: string, action: () => void) => h('button', { type: 'button', class: 'link', 'aria-label': `${label} ${upload.file.name}`, onclick: action }, label);
    const cancel = () => {
      upload.state = 'cancelled';
      upload.abort?.();
      upload.status.textContent = 'Cancelled';
      this.setActions(upload);
    };
    upload.actions.replaceChildren(
      ...(upload.state === 'waiting' || upload.state === 'sending' ? [button('Cancel', cancel)] : []),
      ...((upload.state === 'failed' && upload.retryable) || upload.state === 'cancelled' ? [button('Retry', () => this.retry(upload))] : []),
    );
  }

  private retry(upload: Upload): void {
    if (upload.state !== 'failed' && upload.state !== 'cancelled') return;
    upload.state = 'waiting';
    upload.row.classList.remove('failed');
    upload.progress.value = 0;
    upload.status.textContent = 'Waiting';
    this.setActions(upload);
    this.pump();
  }

  private clearFinished(): void {
    for (const upload of [...this.queue]) {
      if (upload.state === 'waiting' || upload.state === 'sending') continue;
      upload.row.remove();
      this.queue.splice(this.queue.indexOf(upload), 1);
    }
    if (this.queue.length === 0) this.panel.hidden = true;
  }
}

function describeFailure(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Upload failed';
  if (error.status === 401) return 'Your session ended: it will be sent again once you log in';
  return error.message;
}
