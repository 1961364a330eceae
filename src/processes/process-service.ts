import type { Clock } from '../lib/clock.js';
import { forbidden, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';

/** Thrown by work that undoes itself when cancelled (one transaction rolled back). */
export class ProcessCancelled extends Error {
  constructor() {
    super('Cancelled');
  }
}

export type ProcessStatus = 'running' | 'done' | 'cancelled' | 'failed';

export interface ProcessInfo {
  processId: string;
  status: ProcessStatus;
  totalCount: number;
  processedCount: number;
  errorCount: number;
  cancelable: boolean;
  message?: string;
}

export interface ProcessProgress {
  /** Sets the total when it is known only once the work runs. */
  total(count: number): void;
  processed(): void;
  failed(): void;
  /** True once cancellation was asked for; the work stops at its next item. */
  readonly cancelled: boolean;
}

/** Progress of work that learns its counts only at the end (one transaction): reported all at once. */
export function reportCounts(progress: ProcessProgress, counts: { processedCount: number; errorCount: number }): void {
  progress.total(counts.processedCount + counts.errorCount);
  for (let i = 0; i < counts.processedCount; i++) progress.processed();
  for (let i = 0; i < counts.errorCount; i++) progress.failed();
}

interface RunningProcess {
  info: ProcessInfo;
  owner: string;
  finishedAt?: number;
}

/** Finished processes stay queryable this long (protocol §4.12: "for a while"). */
const KEEP_FINISHED_MS = 60 * 60_000;

/**
 * Long bulk operations (`async=true`) run in the background of this node; `process/info` reports their progress
 * and `process/cancel` stops them between two items. Only the owner (or a super user) may see or stop one.
 */
export class ProcessService {
  private readonly processes = new Map<string, RunningProcess>();

  constructor(private readonly clock: Clock) {}

  /** `cancelable: false` for work that cannot stop halfway (one transaction that is never asked to). */
  start(owner: string, totalCount: number, work: (progress: ProcessProgress) => Promise<void>, options: { cancelable?: boolean } = {}): string {
    this.forgetOld();
    const processId = newId();
    const process: RunningProcess = {
      owner,
      info: { processId, status: 'running', totalCount, processedCount: 0, errorCount: 0, cancelable: options.cancelable ?? true },
    };
    this.processes.set(processId, process);
    let cancelled = false;
    const progress: ProcessProgress = {
      total: (count) => void (process.info.totalCount = count),
      processed: () => void process.info.processedCount++,
      failed: () => void process.info.errorCount++,
      get cancelled() {
        cancelled ||= process.info.status === 'cancelled';
        return cancelled;
      },
    };
    // Started on the next turn, so the caller has the id before any work happens.
    setImmediate(() => {
      work(progress).then(
        () => this.finish(process, process.info.status === 'cancelled' ? 'cancelled' : 'done'),
        (error: unknown) =>
          // Work that stops by throwing once cancelled (a transfer rolling back) ends cancelled, not failed.
          error instanceof ProcessCancelled || process.info.status === 'cancelled'
            ? this.finish(process, 'cancelled')
            : this.finish(process, 'failed', error instanceof Error ? error.message : String(error)),
      );
    });
    return processId;
  }

  info(processId: string, caller: { username: string; superuser: boolean }): ProcessInfo {
    return { ...this.visible(processId, caller).info };
  }

  cancel(processId: string, caller: { username: string; superuser: boolean }): ProcessInfo {
    const process = this.visible(processId, caller);
    if (process.info.status === 'running' && process.info.cancelable) process.info.status = 'cancelled';
    return { ...process.info };
  }

  private visible(processId: string, caller: { username: string; superuser: boolean }): RunningProcess {
    const process = this.processes.get(processId);
    if (!process) throw notFound(`No process ${processId.slice(0, 64)}`);
    if (process.owner !== caller.username && !caller.superuser) throw forbidden('Only the user who started a process (or a super user) may see it');
    return process;
  }

  private finish(process: RunningProcess, status: ProcessStatus, message?: string): void {
    process.info.status = status;
    process.info.cancelable = false;
    if (message) process.info.message = message;
    process.finishedAt = this.clock.now();
  }

  private forgetOld(): void {
    const cutoff = this.clock.now() - KEEP_FINISHED_MS;
    for (const [id, process] of this.processes) if (process.finishedAt !== undefined && process.finishedAt < cutoff) this.processes.delete(id);
  }
}
