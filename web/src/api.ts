/**
 * The client's only door to the server: the public Assets API under `services/`, like any other client.
 * A login session is an HttpOnly cookie plus the CSRF token from the login answer, sent as X-CSRF-TOKEN on POSTs.
 */

export interface Hit {
  id: string;
  permissions?: string;
  thumbnailUrl?: string;
  previewUrl?: string;
  originalUrl?: string;
  highlightedText?: string;
  metadata: Record<string, unknown>;
}

export interface FacetValue {
  value: string;
  hitCount: number;
  selected: boolean;
}

export interface SearchResult {
  totalHits: number;
  firstResult: number;
  maxResultHits: number;
  hits: Hit[];
  facets?: Record<string, FacetValue[]>;
}

export interface Profile {
  username: string;
  fullName: string;
}

export interface FolderEntry {
  name: string;
  assetPath: string;
  directory: boolean;
  children?: FolderEntry[];
}

export interface FieldInfo {
  fieldGroups: Array<{ name: string; fields: Array<{ name: string; datatype: string; multivalue: boolean; editable: boolean }> }>;
}

export interface HistoryEntry {
  versionNumber: number;
  action: string;
  date: number;
  user: string;
  versionCreatingAction?: boolean;
  originalUrl?: string;
}

/** An error answer of the API: the server's own message, shown to the user as it is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Params = Record<string, string | number | boolean | undefined>;

const TOKEN_KEY = 'damson.csrf';

/** Where the API lives: the client is served at `<base path>/`, the services next to it. */
export const BASE_PATH = location.pathname.replace(/[^/]*$/, '');

export class Api {
  /**
   * The CSRF token lives in memory. It is mirrored in sessionStorage (this tab only, same origin only, gone when
   * the tab closes or at logout) so that a reload keeps the session; it is not a credential on its own.
   */
  private csrfToken: string | null = sessionStorage.getItem(TOKEN_KEY);
  /** Called on a 401: shows the login form and resolves once the user has logged in again. */
  onUnauthorized: () => Promise<void> = async () => {
    throw new ApiError(401, 'Not logged in');
  };

  get hasSession(): boolean {
    return this.csrfToken !== null;
  }

  async login(username: string, password: string): Promise<void> {
    const answer = await this.send<{ loginSuccess: boolean; loginFaultMessage?: string; csrfToken?: string }>('POST', 'services/login', { username, password, clientType: 'web' }, false);
    if (!answer.loginSuccess || !answer.csrfToken) throw new ApiError(401, answer.loginFaultMessage ?? 'Login failed');
    this.setToken(answer.csrfToken);
  }

  async logout(): Promise<void> {
    try {
      await this.send('POST', 'services/logout', {}, false);
    } finally {
      this.setToken(null);
    }
  }

  forget(): void {
    this.setToken(null);
  }

  /** `signal`: aborting it cancels the request (a search replaced by a newer one), which then rejects. */
  get<T>(service: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
    return this.send<T>('GET', service, params, true, signal);
  }

  post<T>(service: string, params: Params = {}): Promise<T> {
    return this.send<T>('POST', service, params, true);
  }

  /** Uploads one file with progress (fetch cannot report upload progress, XMLHttpRequest can). */
  upload(file: File, params: Params, onProgress: (fraction: number) => void): { done: Promise<Hit>; abort: () => void } {
    const xhr = new XMLHttpRequest();
    const done = new Promise<Hit>((resolve, reject) => {
      const body = new FormData();
      for (const [name, value] of Object.entries(params)) if (value !== undefined) body.append(name, String(value));
      body.append('Filedata', file, file.name);
      xhr.open('POST', `${BASE_PATH}services/create`);
      if (this.csrfToken) xhr.setRequestHeader('X-CSRF-TOKEN', this.csrfToken);
      xhr.responseType = 'json';
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        const answer = xhr.response as (Hit & { message?: string }) | null;
        if (xhr.status >= 200 && xhr.status < 300 && answer && !('errorcode' in answer)) resolve(answer);
        else reject(new ApiError(xhr.status, answer?.message ?? `Upload failed (HTTP ${xhr.status})`));
      };
      xhr.onerror = () => reject(new ApiError(0, 'The connection to the server failed'));
      xhr.onabort = () => reject(new ApiError(0, 'Cancelled'));
      xhr.send(body);
    });
    return { done, abort: () => xhr.abort() };
  }

  private setToken(token: string | null): void {
    this.csrfToken = token;
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  }

  private async send<T>(method: 'GET' | 'POST', service: string, params: Params, retryAfterLogin: boolean, signal?: AbortSignal): Promise<T> {
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value !== undefined) form.append(name, String(value));
    const url = method === 'GET' && form.size > 0 ? `${BASE_PATH}${service}?${form}` : `${BASE_PATH}${service}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { accept: 'application/json', ...(method === 'POST' && this.csrfToken ? { 'x-csrf-token': this.csrfToken } : {}) },
        ...(method === 'POST' ? { body: form } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch {
      if (signal?.aborted) throw new ApiError(0, 'Cancelled');
      throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
    }
    const body = (await response.json().catch(() => null)) as (T & { errorcode?: number; message?: string }) | null;
    const sessionLost = response.status === 401 || (response.status === 403 && /csrf/i.test(body?.message ?? ''));
    if (sessionLost && retryAfterLogin) {
      this.setToken(null);
      await this.onUnauthorized();
      return this.send<T>(method, service, params, false, signal);
    }
    if (!response.ok || body === null) throw new ApiError(response.status, body?.message ?? `The server answered HTTP ${response.status}`);
    return body;
  }
}
