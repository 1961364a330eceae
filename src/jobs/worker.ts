import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../lib/clock.js';
import type { Job, JobStore } from './job-store.js';

export interface JobHandler {
  run(job: Job): Promise<void>;
  /** Called once when a job has failed for the last time. */
  giveUp?(job: Job, reason: string): Promise<void>;
}

export interface WorkerOptions {
  concurrency: number;
  maxAttempts: number;
  /** How long a claimed job is reserved; a worker that dies loses it after this. */
  leaseMs: number;
  /** How often an idle worker looks for queued jobs; jobs sent on its own node wake it at once. */
  idlePollMs: number;
  /** Delay before retry n (1-based). */
  backoffMs(attempt: number): number;
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  concurrency: 2,
  maxAttempts: 3,
  leaseMs: 10 * 60_000,
  idlePollMs: 1000,
  backoffMs: (attempt) => 2000 * 4 ** (attempt - 1),
};

/** Runs queued jobs in this process, `concurrency` at a time, until stopped. */
export class JobWorker {
  private running = false;
  private readonly sleepers = new Set<() => void>();
  private loops: Promise<void>[] = [];

  constructor(
    private readonly store: JobStore,
    private readonly clock: Clock,
    private readonly handlers: Record<string, JobHandler>,
    private readonly log: FastifyBaseLogger,
    private readonly options: WorkerOptions = DEFAULT_WORKER_OPTIONS,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  /** New work was enqueued: stop idling. */
  notify(): void {
    for (const wake of this.sleepers) wake();
  }

  /** Stops taking jobs and waits for the ones in hand to finish. */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let job: Job | undefined;
      try {
        const now = this.clock.now();
        job = await this.store.claimNext(now, now + this.options.leaseMs);
      } catch (error) {
        this.log.warn({ err: error }, 'could not claim a job');
      }
      if (job) await this.runJob(job);
      else await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.options.idlePollMs);
      this.sleepers.add(wake);
    });
  }

  private async runJob(job: Job): Promise<void> {
    const handler = this.handlers[job.type];
    try {
      if (!handler) throw new Error(`No handler for job type ${job.type}`);
      await handler.run(job);
      await this.store.complete(job.id, this.clock.now());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const lastAttempt = job.attempts >= this.options.maxAttempts;
      this.log.warn({ jobId: job.id, type: job.type, attempt: job.attempts, lastAttempt, reason }, 'job failed');
      const now = this.clock.now();
      try {
        await this.store.fail(job.id, reason, now, lastAttempt ? undefined : now + this.options.backoffMs(job.attempts));
        if (lastAttempt) await handler?.giveUp?.(job, reason);
      } catch (storeError) {
        this.log.error({ err: storeError, jobId: job.id }, 'could not record a job failure');
      }
    }
  }
}
