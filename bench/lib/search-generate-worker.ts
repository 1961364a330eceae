/**
 * Worker thread of the search benchmark's generator: makes the catalogue's assets and records the statements
 * Damson's code would run for them (bench/lib/search-writer.ts), one batch per request, while the main thread
 * executes the previous batch. The last answer carries the phrases seen in descriptions.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DialectName } from '../../src/db/database.js';
import { recordingDatabase } from './recording-db.js';
import { Catalogue } from './search-corpus.js';
import { recordAssets } from './search-writer.js';

export interface GenerateWorkerData {
  seed: number;
  count: number;
  batchSize: number;
  dialect: DialectName;
}

export type GenerateWorkerAnswer =
  | { kind: 'batch'; first: number; assets: number; statements: Array<{ sql: string; parameters: readonly unknown[] }> }
  | { kind: 'done'; phrases: Array<[string, number]> };

const { seed, count, batchSize, dialect } = workerData as GenerateWorkerData;
const catalogue = new Catalogue(seed);
const recording = recordingDatabase(dialect);
const folders = new Set<string>();
let next = 0;

parentPort!.on('message', () => {
  void (async () => {
    if (next >= count) {
      parentPort!.postMessage({ kind: 'done', phrases: [...catalogue.phrases] } satisfies GenerateWorkerAnswer);
      return;
    }
    const first = next;
    const assets = [];
    for (; next < Math.min(count, first + batchSize); next++) assets.push(catalogue.nextAsset(next));
    const statements = await recordAssets(recording, assets, folders);
    parentPort!.postMessage({ kind: 'batch', first, assets: assets.length, statements } satisfies GenerateWorkerAnswer);
  })().catch((error: unknown) => {
    // An uncaught error ends the worker, which the main thread reports.
    throw error;
  });
});
