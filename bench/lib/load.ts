import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { killGroup, trackChild } from './cleanup.js';
import { keyToMs, type LoadResult, type LoadSpec } from './load-runner.js';
import { type Deadline } from './report.js';

export type { LoadResult, LoadSpec } from './load-runner.js';

const RUNNER = join(import.meta.dirname, 'load-runner.ts');

/**
 * Runs one load generator per spec, each a child process (bench/lib/load-runner.ts, autocannon), all starting
 * their load at the same moment; resolves with their results in the order of `specs`. Every runner is killed if
 * any fails or the deadline passes.
 */
export async function runLoad(specs: LoadSpec[], deadline: Deadline): Promise<LoadResult[]> {
  const runners = specs.map((spec) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    trackChild(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-8000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ready = new Promise<void>((resolve, reject) => {
      const onData = () => {
        if (!stdout.startsWith('ready\n')) return;
        child.stdout!.off('data', onData);
        resolve();
      };
      child.stdout!.on('data', onData);
      void exited.then((code) => reject(new Error(`the load generator for ${spec.url} exited with ${code} before it was ready:\n${stderr}`)));
    });
    const result = exited.then((code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) throw new Error(`the load generator for ${spec.url} exited with ${code}:\n${stderr}`);
      return JSON.parse(last) as LoadResult;
    });
    // Settled here so that an early failure of one runner is not an unhandled rejection while waiting on another.
    result.catch(() => undefined);
    ready.catch(() => undefined);
    return { child, ready, result };
  });

  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(deadline.error()), deadline.remainingMs());
  });
  try {
    await Promise.race([Promise.all(runners.map((runner) => runner.ready)), expired]);
    for (const runner of runners) runner.child.stdin!.write('go\n');
    return await Promise.race([Promise.all(runners.map((runner) => runner.result)), expired]);
  } finally {
    clearTimeout(timer);
    for (const runner of runners) if (runner.child.exitCode === null && runner.child.signalCode === null) killGroup(runner.child, 'SIGKILL');
  }
}

/** Latency histogram: key (load-runner's latencyKey) → count. */
export type Latency = Map<number, number>;

export function mergeLatency(results: Iterable<LoadResult>): Latency {
  const merged: Latency = new Map();
  for (const result of results) for (const [key, count] of result.latency) merged.set(key, (merged.get(key) ?? 0) + count);
  return merged;
}

/** The latency (ms) at fraction p (0..1) of the answers: the smallest value that at least p of them do not exceed. */
export function latencyPercentile(latency: Latency, p: number): number {
  const keys = [...latency.keys()].sort((a, b) => a - b);
  const total = keys.reduce((sum, key) => sum + latency.get(key)!, 0);
  if (total === 0) return Number.NaN;
  const wanted = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const key of keys) {
    seen += latency.get(key)!;
    if (seen >= wanted) return keyToMs(key);
  }
  return keyToMs(keys[keys.length - 1]!);
}
