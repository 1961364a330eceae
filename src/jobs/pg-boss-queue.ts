import type { FastifyBaseLogger } from 'fastify';
import { CompiledQuery, type Kysely } from 'kysely';
import PgBoss from 'pg-boss';
import type { Database } from '../db/schema.js';
import type { JobQueue, JobState } from './job-queue.js';
import type { JobHandler, WorkerOptions } from './worker.js';

interface JobData {
  assetId: string;
  payload: Record<string, unknown>;
}

export interface PgBossQueueOptions extends Pick<WorkerOptions, 'concurrency' | 'maxAttempts' | 'leaseMs' | 'idlePollMs'> {
  connectionString: string;
  /** The schema of Damson's own tables: pg-boss keeps its tables next to them. */
  schema: string;
  /** Seconds before the first retry; later ones back off exponentially. */
  retryDelaySeconds: number;
}

/** pg-boss's states, in Damson's words. */
const STATES: Record<string, JobState> = { created: 'queued', retry: 'queued', active: 'running', completed: 'done', failed: 'failed', cancelled: 'failed' };

/**
 * The queue for PostgreSQL deployments: pg-boss, a job queue on PostgreSQL (SKIP LOCKED), so several API and
 * worker nodes share it with no queue of Damson's own making. Jobs are sent on the caller's transaction through
 * pg-boss's `db` option; a job whose worker died expires after the lease and is retried; the retry limit and
 * backoff are pg-boss's.
 */
export class PgBossJobQueue implements JobQueue {
  private readonly boss: PgBoss;
  private readonly queues: string[];
  private started: Promise<unknown> | null = null;
  private workerIds: string[] = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly handlers: Record<string, JobHandler>,
    private readonly log: FastifyBaseLogger,
    private readonly options: PgBossQueueOptions,
  ) {
    const leaseSeconds = Math.max(1, Math.round(options.leaseMs / 1000));
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      schema: options.schema,
      max: 2,
      // Expired (dead-worker) jobs are noticed by maintenance: run it at least as often as a lease lasts.
      maintenanceIntervalSeconds: Math.min(60, leaseSeconds),
      monitorStateIntervalSeconds: 60,
    });
    // Connection trouble is reported here; pg-boss reconnects by itself, and requests meanwhile get 503s.
    this.boss.on('error', (error) => this.log.warn({ err: error }, 'job queue error'));
    this.queues = Object.keys(handlers);
  }

  /** Installs or upgrades pg-boss's tables (under an advisory lock, so nodes may start together) and the queues. */
  private ensureStarted(): Promise<unknown> {
    this.started ??= (async () => {
      await this.boss.start();
      const leaseSeconds = Math.max(1, Math.round(this.options.leaseMs / 1000));
      for (const name of this.queues) {
        await this.boss.createQueue(name, {
          name,
          retryLimit: this.options.maxAttempts - 1,
          retryDelay: this.options.retryDelaySeconds,
          retryBackoff: true,
          expireInSeconds: leaseSeconds,
        });
      }
    })();
    return this.started;
  }

  async init(): Promise<void> {
    await this.ensureStarted();
  }

  async enqueue(db: Kysely<Database>, type: string, assetId: string, payload: Record<string, unknown>): Promise<void> {
    await this.ensureStarted();
    const data: JobData = { assetId, payload };
    await this.boss.send(type, data, { db: { executeSql: (text, values) => db.executeQuery(CompiledQuery.raw(text, values)) as Promise<{ rows: unknown[] }> } });
  }

  notify(): void {
    for (const id of this.workerIds) this.boss.notifyWorker(id);
  }

  async startWorking(): Promise<void> {
    await this.ensureStarted();
    for (const name of this.queues) {
      const handler = this.handlers[name]!;
      for (let slot = 0; slot < this.options.concurrency; slot += 1) {
        // pg-boss waits out the rest of its polling interval after each job, queue full or not: with jobs of a
        // tenth of a second, a slot ran one a second (2 images/s rendered by 2 slots where sharp does 16). After a
        // job the slot is told to fetch again at once; it waits only when the queue had nothing for it.
        let id = '';
        id = await this.boss.work<JobData>(name, { batchSize: 1, pollingIntervalSeconds: this.options.idlePollMs / 1000, includeMetadata: true }, async ([job]) => {
          if (!job) return;
          this.boss.notifyWorker(id);
          const attempts = job.retryCount + 1;
          const asJob = { id: job.id, type: name, assetId: job.data.assetId, payload: job.data.payload, attempts };
          try {
            await withinLease(handler.run(asJob), this.options.leaseMs);
          } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            const lastAttempt = job.retryCount >= job.retryLimit;
            this.log.warn({ jobId: job.id, type: name, attempt: attempts, lastAttempt, reason }, 'job failed');
            if (lastAttempt) await handler.giveUp?.(asJob, reason);
            throw error;
          }
        });
        this.workerIds.push(id);
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => undefined);
    // Graceful: workers finish the jobs in hand; then pg-boss closes its own connections.
    await this.boss.stop({ graceful: true, wait: true, timeout: 30_000 });
  }

  async counts(): Promise<Record<JobState, number>> {
    const result: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    const { rows } = await this.db.executeQuery<{ state: string; count: string | number }>(
      CompiledQuery.raw(`SELECT state, count(*) AS count FROM ${quoteIdentifier(this.options.schema)}.job GROUP BY state`, []),
    );
    for (const row of rows) {
      const state = STATES[row.state];
      if (state) result[state] += Number(row.count);
    }
    return result;
  }

  /** pg-boss archives and deletes finished jobs on its own schedule. */
  async deleteDoneBefore(): Promise<void> {}
}

/**
 * pg-boss fails a handler that outlives the job's expiry without a word to it. Failing it ourselves a little
 * earlier puts the reason in the log and lets the last attempt give up (renditions marked failed, not left
 * pending for ever). The work itself is not stopped; it is the lease that must be longer than the longest job.
 */
async function withinLease(work: Promise<void>, leaseMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the job ran longer than its lease (${leaseMs / 1000} s, DAMSON_JOB_LEASE_SECONDS)`)), leaseMs * 0.9);
  });
  try {
    await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
