import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest } from '../../lib/errors.js';
import { parseSort, type SearchRequest, type SortField } from '../../search/search-service.js';
import type { AppContext } from '../context.js';
import { parseMetadataToReturn } from '../hits.js';
import { type Params, readParams } from '../params.js';
import { addServiceRoute } from '../route.js';
import { hitBaseUrl } from '../urls.js';

const MAX_PAGE_SIZE = 10_000;

/** `GET|POST /services/search` (protocol §3.1-3.3), in the parameter form and the JSON `AssetSearch` form. */
export function searchRoutes(app: FastifyInstance, ctx: AppContext): void {
  addServiceRoute(app, {
    url: '/services/search',
    readOnly: true,
    methods: ['GET', 'POST'],
    handler: async (request, reply) => {
      const params = await readParams(request);
      const json = jsonSearch(request);
      const search = json ?? fromParams(params);
      const sign = params.bool('appendRequestSecret');
      const shape = { baseUrl: hitBaseUrl(request, ctx.config, sign), metadataToReturn: search.metadataToReturn, highlighting: params.bool('returnHighlightedText', true), sign };
      const answer = await ctx.searcher.answer(search.request, shape, whileConnected(reply));
      reply.type('application/json; charset=utf-8');
      return answer;
    },
  });
}

/** Aborted when the client closes the connection before the answer is sent. */
function whileConnected(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableEnded) controller.abort();
  });
  return controller.signal;
}

function fromParams(params: Params): { request: SearchRequest; metadataToReturn: readonly string[] | undefined } {
  const facets = params.list('facets');
  // Without a prototype, so that a facet named `constructor` or `toString` finds no inherited "selection".
  const selections: Record<string, string[]> = Object.create(null);
  for (const name of params.names()) {
    const match = /^facet\.(.+)\.selection$/.exec(name);
    if (match) selections[match[1]!] = params.list(name);
  }
  return {
    request: {
      query: params.get('q') ?? '',
      start: params.int('start', 0, 0, Number.MAX_SAFE_INTEGER),
      num: params.int('num', 50, 0, MAX_PAGE_SIZE),
      sort: parseSort(params.get('sort')),
      facets,
      selections,
    },
    metadataToReturn: parseMetadataToReturn(params.get('metadataToReturn')),
  };
}

interface AssetSearchBody {
  firstResult?: unknown;
  maxResultHits?: unknown;
  sorting?: Array<{ field?: unknown; descending?: unknown }>;
  query?: { QueryStringQuery?: { queryString?: unknown } };
  metadataToReturn?: unknown;
  facets?: Record<string, { field?: unknown; selection?: { values?: unknown; notValues?: unknown; operation?: unknown } }>;
  returnHits?: unknown;
  returnFacets?: unknown;
}

/**
 * The members only an `AssetSearch` body has (protocol §3.2): a JSON body with any of them is one. Others, such as
 * `metadataToReturn` and `facets`, are parameter names too: a JSON body of parameters (`{"q": …}`) is read as such.
 */
const ASSET_SEARCH_MEMBERS = ['query', 'firstResult', 'maxResultHits', 'sorting', 'returnHits', 'returnFacets'];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The JSON body the Assets UI and some clients post (protocol §3.2); undefined when the request has none (the
 * parameter form). Members of the wrong type are refused rather than ignored, which would answer other hits.
 */
function jsonSearch(request: FastifyRequest): { request: SearchRequest; metadataToReturn: readonly string[] | undefined } | undefined {
  if (!request.headers['content-type']?.toLowerCase().includes('json') || request.body === undefined) return undefined;
  if (!isObject(request.body)) throw badRequest('A JSON search body must be an AssetSearch object, such as {"query": {"QueryStringQuery": {"queryString": "tags:sea"}}}');
  const body = request.body as AssetSearchBody;
  if (!ASSET_SEARCH_MEMBERS.some((member) => member in body)) return undefined;
  if ('q' in body) throw badRequest('A search body is either parameters ({"q": …}) or an AssetSearch ({"query": …}), not both');
  const integer = (value: unknown, fallback: number, max: number) => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > max) throw badRequest('firstResult and maxResultHits must be whole numbers ≥ 0');
    return value as number;
  };
  // Only the query string form is understood; any other query would otherwise silently match everything.
  if (body.query !== undefined && (body.query === null || typeof body.query !== 'object' || !('QueryStringQuery' in body.query))) {
    throw badRequest('query must be {"QueryStringQuery": {"queryString": "…"}}: other query types are not supported');
  }
  const queryString = body.query?.QueryStringQuery?.queryString;
  if (queryString !== undefined && typeof queryString !== 'string') throw badRequest('query.QueryStringQuery.queryString must be a string');
  if (body.sorting !== undefined && !Array.isArray(body.sorting)) throw badRequest('sorting must be a list such as [{"field": "name", "descending": false}]');
  const sort: SortField[] = body.sorting
    ? body.sorting.map((entry: unknown) => {
        if (!isObject(entry) || typeof entry.field !== 'string' || (entry.descending !== undefined && typeof entry.descending !== 'boolean')) {
          throw badRequest('Each sorting entry must be an object such as {"field": "name", "descending": false}');
        }
        return { ...parseSort(entry.field)[0]!, descending: entry.descending === true };
      })
    : parseSort(undefined);
  if (body.facets !== undefined && !isObject(body.facets)) throw badRequest('facets must be an object such as {"tags": {"field": "tags"}}');
  const facets: string[] = [];
  const selections: Record<string, string[]> = Object.create(null);
  for (const [name, facet] of Object.entries(body.facets ?? {})) {
    if (!isObject(facet) || (facet.selection !== undefined && !isObject(facet.selection))) throw badRequest(`facets.${name.slice(0, 64)} must be an object such as {"field": "tags", "selection": {"values": ["sea"]}}`);
    const field = typeof facet.field === 'string' ? facet.field : name;
    facets.push(field);
    const { values, notValues, operation } = facet.selection ?? {};
    if (values !== undefined && (!Array.isArray(values) || values.some((value) => typeof value !== 'string' && typeof value !== 'number'))) {
      throw badRequest(`facets.${field.slice(0, 64)}.selection.values must be a list of values`);
    }
    // Refused rather than ignored, which would answer with the wrong hits.
    if (Array.isArray(notValues) && notValues.length > 0) throw badRequest(`facets.${field}.selection.notValues is not supported: exclude the values in the query (-${field}:value)`);
    if (Array.isArray(values) && values.length > 1 && String(operation).toUpperCase() === 'AND') {
      throw badRequest(`facets.${field}.selection with operation AND is not supported: a selection finds assets with any of its values (AND them in the query)`);
    }
    if (Array.isArray(values) && values.length > 0) selections[field] = values.map(String);
  }
  const fields = body.metadataToReturn;
  const returns = (flag: unknown) => flag !== false && flag !== 'false';
  return {
    request: {
      query: queryString ?? '',
      start: integer(body.firstResult, 0, Number.MAX_SAFE_INTEGER),
      num: returns(body.returnHits) ? integer(body.maxResultHits, 50, MAX_PAGE_SIZE) : 0,
      sort,
      facets: returns(body.returnFacets) ? facets : [],
      selections,
    },
    // As in the parameter form: `all` is every field, an empty list the minimal set; a string is a list too.
    metadataToReturn: Array.isArray(fields) ? parseMetadataToReturn(fields.map(String).join(',')) : typeof fields === 'string' ? parseMetadataToReturn(fields) : undefined,
  };
}
