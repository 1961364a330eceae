import type { UrlSigner } from '../auth/url-signer.js';
import { highlightedText } from '../search/highlight.js';
import type { SearchRequest, SearchResult, SearchService } from '../search/search-service.js';
import { toHit } from './hits.js';

/** What answers `/services/search`: in the server's thread (PostgreSQL), or on search threads (SQLite). */
export interface Searcher {
  /** `cancelled`: the client has gone, and a search that has not started yet need not run. */
  answer(request: SearchRequest, shape: AnswerShape, cancelled?: AbortSignal): Promise<Buffer>;
}

/** Searches in the server's own thread: on PostgreSQL, whose driver never blocks it (or DAMSON_SEARCH_THREADS=0). */
export function localSearcher(service: SearchService, signer: UrlSigner): Searcher {
  return { answer: async (request, shape) => searchAnswer(request, await service.search(request), shape, signer) };
}

/** How the hits of a search answer are shaped: what the request asked for beyond the search itself. */
export interface AnswerShape {
  /** Absolute base URL that hit URLs start with. */
  baseUrl: string;
  /** undefined = all fields. */
  metadataToReturn: readonly string[] | undefined;
  /** `returnHighlightedText`. */
  highlighting: boolean;
  /** `appendRequestSecret`: hit URLs carry a request secret. */
  sign: boolean;
}

/**
 * The search answer (protocol §3.3) as UTF-8 bytes, each hit serialised on its own. As one string, a page is
 * two-byte text in V8 as soon as one hit holds a character beyond Latin-1 (an ellipsis in a highlight, a curly
 * quote), and serialising and encoding two-byte text costs about twice as much; hit by hit, only that hit pays.
 * Encoded here rather than by Fastify, which measures a string's UTF-8 length and then encodes it again.
 */
export function searchAnswer(request: SearchRequest, result: SearchResult, shape: AnswerShape, signer: UrlSigner): Buffer {
  const hitOptions = { baseUrl: shape.baseUrl, metadataToReturn: shape.metadataToReturn, ...(shape.sign ? { signer } : {}) };
  const head = { firstResult: request.start, maxResultHits: request.num, totalHits: result.totalHits };
  const parts = [Buffer.from(`${JSON.stringify(head).slice(0, -1)},"hits":[`)];
  result.assets.forEach((asset, index) => {
    const hit = toHit(asset, hitOptions);
    const highlight = shape.highlighting ? highlightedText(asset, result.words) : undefined;
    if (highlight !== undefined) hit.highlightedText = highlight;
    parts.push(Buffer.from(index === 0 ? JSON.stringify(hit) : `,${JSON.stringify(hit)}`));
  });
  parts.push(Buffer.from(`],"facets":${JSON.stringify(result.facets)}}`));
  return Buffer.concat(parts);
}
