import type { Worker } from 'node:worker_threads';
import type { Clock } from '../lib/clock.js';
import { DamsonError, serviceUnavailable } from '../lib/errors.js';
import { siblingModule, startThread } from '../lib/threads.js';
import type { SearchRequest } from '../search/search-service.js';
import type { AnswerShape, Searcher } from './search-answer.js';

export interface ThreadData {
  /** The SQLite database file. */
  file: string;
  /** How long request secrets in hit URLs work. */
  requestSecretMs: number;
}

/** A search for a thread to answer: `now` is the server's clock, which date math and request secrets follow. */
export interface ThreadRequest {
  id: number;
  request: SearchRequest;
  shape: AnswerShape;
  now: number;
}

export type ThreadReply =
  | { id: number; answer: Uint8Array }
  | { id: number; error: { status?: number; message: string; headers?: Record<string, string>; code?: string } };

/**
 * Searches on SQLite run on a few threads of their own, each with a read-only connection. better-sqlite3 is
 * synchronous: on the server's thread a facet count that takes seconds on a large library would hold up every
 * other request, health checks and logins included. A thread also shapes the hits and writes the JSON, and hands
 * over bytes: copying 50 hits between threads as objects costs more than making them. Threads start on the
 * first searches and stay; each runs one search at a time, and searches beyond the threads wait their turn.
 */
export class SearchThreads implements Searcher {
  private readonly idle: SearchThread[] = [];
  private readonly busy = new Set<SearchThread>();
  private readonly waiting: Array<{ resolve: (thread: SearchThread) => void; reject: (error: Error) => void }> = [];
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly data: ThreadData,
    private readonly size: number,
    private readonly clock: Clock,
  ) {}

  /** `cancelled`: the client has gone; a search still waiting for a thread is then dropped, not run. */
  async answer(request: SearchRequest, shape: AnswerShape, cancelled?: AbortSignal): Promise<Buffer> {
    const thread = await this.acquire(cancelled);
    try {
      const answer = await thread.run({ id: ++this.nextId, request, shape, now: this.clock.now() });
      return Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength);
    } finally {
      this.release(thread);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(shuttingDown());
    const threads = [...this.idle.splice(0), ...this.busy];
    this.busy.clear();
    await Promise.all(threads.map((thread) => thread.terminate()));
  }

  private acquire(cancelled?: AbortSignal): Promise<SearchThread> {
    if (this.closed) return Promise.reject(shuttingDown());
    if (cancelled?.aborted) return Promise.reject(clientGone());
    let idle = this.idle.pop();
    // A thread may have died while idle (out of memory, say): it is replaced, not handed a search.
    while (idle?.dead) idle = this.idle.pop();
    const thread = idle ?? (this.busy.size < this.size ? new SearchThread(this.data) : undefined);
    if (thread) {
      this.busy.add(thread);
      return Promise.resolve(thread);
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiting.push(waiter);
      // A search typed over or clicked away from must not keep the next one waiting behind it.
      cancelled?.addEventListener('abort', () => {
        const index = this.waiting.indexOf(waiter);
        if (index < 0) return;
        this.waiting.splice(index, 1);
        reject(clientGone());
      });
    });
  }

  /** Hands the thread to the next waiting search, or a new one if it died (its search has failed already). */
  private release(thread: SearchThread): void {
    if (!this.busy.delete(thread)) return; // closed meanwhile
    const waiter = this.waiting.shift();
    if (!waiter) {
      if (!thread.dead) this.idle.push(thread);
      return;
    }
    const next = thread.dead ? new SearchThread(this.data) : thread;
    this.busy.add(next);
    waiter.resolve(next);
  }
}

const shuttingDown = () => serviceUnavailable('The server is shutting down');
/** Nobody reads this answer: the status is nginx's "client closed request", for the logs. */
const clientGone = () => new DamsonError(499, 'The client closed the connection before its search ran');

class SearchThread {
  private readonly worker: Worker;
  private pending: { id: number; resolve: (answer: Uint8Array) => void; reject: (error: Error) => void } | undefined;
  dead = false;

  constructor(data: ThreadData) {
    this.worker = startThread(THREAD_ENTRY, { workerData: data });
    // An idle thread must not keep the process alive; the server and its close() govern its life.
    this.worker.unref();
    this.worker.on('message', (reply: ThreadReply) => {
      const pending = this.pending;
      if (pending?.id !== reply.id) return;
      this.pending = undefined;
      if ('answer' in reply) pending.resolve(reply.answer);
      else if (reply.error.status !== undefined) pending.reject(new DamsonError(reply.error.status, reply.error.message, reply.error.headers));
      else pending.reject(Object.assign(new Error(`search thread: ${reply.error.message}`), { code: reply.error.code }));
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`search thread exited with code ${code}`)));
  }

  run(message: ThreadRequest): Promise<Uint8Array> {
    if (this.dead) return Promise.reject(new Error('search thread is gone'));
    return new Promise((resolve, reject) => {
      this.pending = { id: message.id, resolve, reject };
      this.worker.postMessage(message);
    });
  }

  terminate(): Promise<number> {
    this.fail(shuttingDown());
    return this.worker.terminate();
  }

  private fail(error: Error): void {
    this.dead = true;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

/** The thread's entry: search-thread.ts run from source, search-thread.js built. */
const THREAD_ENTRY = siblingModule(import.meta.url, 'search-thread');
