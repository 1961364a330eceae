import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { DialectName } from '../db/database.js';
import type { Database } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import { JobStore } from './job-store.js';
import { type JobHandler, JobWorker, type WorkerOptions } from './worker.js';

export type JobState = 'queued' | 'running' | 'done' | 'failed';

/**
 * Background work (renditions), durable and shared by every node. A job is enqueued on the caller's transaction,
 * so it exists exactly when the change that needs it commits; a job whose worker dies runs again; failures are
 * retried with backoff, and after the last one the handler's `giveUp` records why.
 */
export interface JobQueue {
  /** Connects and installs what the queue needs; at start, before any request. */
  init(): Promise<void>;
  enqueue(db: Kysely<Database>, type: string, assetId: string, payload: Record<string, unknown>): Promise<void>;
  /** Jobs were committed: a worker in this process may look now instead of at its next poll. */
  notify(): void;
  /** Starts running jobs in this process (nodes whose role includes the worker). */
  startWorking(): Promise<void>;
  /** Stops taking jobs, waits for the ones in hand, and releases the queue's connections. */
  stop(): Promise<void>;
  counts(): Promise<Record<JobState, number>>;
  /** Housekeeping: forgets finished jobs older than `cutoff`. */
  deleteDoneBefore(cutoff: number): Promise<void>;
}

/** The embedded deployment's queue: a table in the SQLite database, run by an in-process worker. */
export class TableJobQueue implements JobQueue {
  private readonly worker: JobWorker;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
    private readonly clock: Clock,
    handlers: Record<string, JobHandler>,
    log: FastifyBaseLogger,
    options: WorkerOptions,
  ) {
    this.worker = new JobWorker(new JobStore(db, dialect), clock, handlers, log, options);
  }

  async init(): Promise<void> {}

  enqueue(db: Kysely<Database>, type: string, assetId: string, payload: Record<string, unknown>): Promise<void> {
    return new JobStore(db, this.dialect).enqueue(type, assetId, payload, this.clock.now());
  }

  notify(): void {
    this.worker.notify();
  }

  async startWorking(): Promise<void> {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts = await new JobStore(this.db, this.dialect).countByState();
    return { queued: counts.queued ?? 0, running: counts.running ?? 0, done: counts.done ?? 0, failed: counts.failed ?? 0 };
  }

  deleteDoneBefore(cutoff: number): Promise<void> {
    return new JobStore(this.db, this.dialect).deleteDoneBefore(cutoff);
  }
}
