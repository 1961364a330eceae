import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';

/**
 * What a benchmark must undo whatever happens: temporary directories and child processes. Each benchmark
 * undoes its own in `finally`; this registry is the safety net for Ctrl-C, SIGTERM and an unexpected exit,
 * so no server or multi-gigabyte file outlives the run.
 */
const directories = new Set<string>();
const children = new Set<ChildProcess>();
const asyncCleanups = new Set<() => Promise<unknown>>();
/** How long Ctrl-C waits for asynchronous cleanups (dropping a benchmark's database schema) before exiting anyway. */
const SIGNAL_CLEANUP_MS = 10_000;
let installed = false;

function installOnce(): void {
  if (installed) return;
  installed = true;
  // Synchronous last resort: nothing asynchronous runs in an 'exit' handler.
  process.on('exit', () => {
    for (const child of children) killGroup(child, 'SIGKILL');
    for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping child processes and removing temporary files\n`);
      // Children first, so that nothing holds a lock an asynchronous cleanup (DROP SCHEMA) waits for.
      for (const child of children) killGroup(child, 'SIGKILL');
      const pending = [...asyncCleanups].map((work) => work().catch(() => undefined));
      const timer = new Promise((resolve) => setTimeout(resolve, SIGNAL_CLEANUP_MS).unref());
      void Promise.race([Promise.all(pending), timer]).finally(() => process.exit(130));
    });
  }
}

/**
 * Registers asynchronous cleanup work (dropping a database schema) to run on Ctrl-C, SIGTERM or SIGHUP, which
 * the synchronous 'exit' hook cannot do; returns the function that unregisters it once the work is done normally.
 */
export function trackCleanup(work: () => Promise<unknown>): () => void {
  installOnce();
  asyncCleanups.add(work);
  return () => asyncCleanups.delete(work);
}

/** Registers a temporary directory for removal at exit; `removeDirectory` removes it sooner. */
export function trackDirectory(dir: string): string {
  installOnce();
  directories.add(dir);
  return dir;
}

export async function removeDirectory(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  directories.delete(dir);
}

/**
 * Registers a child process, started with `detached: true` so that it leads a process group of its own, to be
 * killed with its whole group at exit. The group matters: Damson's exiftool processes outlive a server killed
 * alone (they are re-parented to init and keep running).
 */
export function trackChild(child: ChildProcess): void {
  installOnce();
  children.add(child);
  // After the leader exits its group may still hold children of it; the 'exit' handler sweeps them too.
  child.once('exit', () => {
    killGroup(child, 'SIGKILL');
    children.delete(child);
  });
}

/** Sends `signal` to every process in the child's process group (whose id is the child's pid). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is empty already.
  }
}
