/**
 * A search thread (started by SearchThreads): answers `/services/search` on a read-only connection of its own,
 * hits shaped and written as JSON here too, so that neither a slow query nor a big page holds up the server's
 * event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { sql } from 'kysely';
import { UrlSigner } from '../auth/url-signer.js';
import { openSqliteReader } from '../db/database.js';
import { DamsonError } from '../lib/errors.js';
import { FacetIndex } from '../search/facet-index.js';
import { SearchService } from '../search/search-service.js';
import { searchAnswer } from './search-answer.js';
import type { ThreadData, ThreadReply, ThreadRequest } from './search-threads.js';

const { file, requestSecretMs } = workerData as ThreadData;
const port = parentPort!;
const database = openSqliteReader(file);
/** The server's clock at the time of each request: date math (`NOW-1DAY`) and request secrets follow it, also when tests move it. */
let now = 0;
const clock = { now: () => now };
// Facets counted in memory: each search reads in a transaction of its own (below), as the index needs.
const service = new SearchService(database, clock, { facetIndex: new FacetIndex() });
const signer = UrlSigner.read(database.db, clock, requestSecretMs);

port.on('message', (message: ThreadRequest) => {
  void answer(message).then((reply) => port.postMessage(reply));
});

async function answer({ id, request, shape, now: at }: ThreadRequest): Promise<ThreadReply> {
  now = at;
  try {
    // One read transaction: the count, the page and the facets all see the same committed state.
    await sql`BEGIN`.execute(database.db);
    try {
      return { id, answer: searchAnswer(request, await service.search(request), shape, await signer) };
    } finally {
      await sql`COMMIT`.execute(database.db);
    }
  } catch (error) {
    if (error instanceof DamsonError) return { id, error: { status: error.status, message: error.message, headers: { ...error.headers } } };
    // The code travels along: the error handler tells a full disk (SQLITE_FULL, 507) from a fault by it.
    const code = (error as { code?: unknown } | null)?.code;
    return { id, error: { message: error instanceof Error ? (error.stack ?? error.message) : String(error), ...(typeof code === 'string' ? { code } : {}) } };
  }
}
