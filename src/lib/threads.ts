import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running the module at `entry` (a file URL). Run from source (`node --import tsx`: tests,
 * benchmarks) the entry is TypeScript, and a thread does not inherit the tsx loader: it registers tsx first.
 */
export function startThread(entry: URL, options: WorkerOptions = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** The module next to `base` (an `import.meta.url`) called `name`, with the extension `base` has (.ts from source, .js built). */
export function siblingModule(base: string, name: string): URL {
  return new URL(`./${name}${base.slice(base.lastIndexOf('.'))}`, base);
}
