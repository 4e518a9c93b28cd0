/**
 * Paged reads: one page of a query or child list by ascending id, with the `paging` tokens of its
 * `nextPageUrl`/`prevPageUrl`.
 */
import {
  type ApiAnswer,
  type ApiRequest,
  badRequest,
  ok,
  queryOf,
  scope,
  specOf,
} from '#local/autotask-sim/api-request.ts';
import { parseQuery, project } from '#local/autotask-sim/query.ts';
import type { Entity } from '#local/autotask-sim/store.ts';

interface PageToken {
  after?: number;
  before?: number;
}

const encodeToken = (token: PageToken): string => Buffer.from(JSON.stringify(token)).toString('base64url');

const decodeToken = (raw: string | null): PageToken => {
  if (raw === null || raw === '') return {};
  try {
    const token = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as PageToken;
    const valid = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isInteger(v));
    if (typeof token === 'object' && token !== null && valid(token.after) && valid(token.before))
      return token;
  } catch {
    // fall through
  }
  return badRequest('The "paging" parameter is not a valid page token.');
};

/**
 * One page of a query (POST `/X/query`, GET `/X/query?search=`) or child list (GET
 * `/X/{parentId}/Y`), by ascending id. `nextPageUrl`/`prevPageUrl` are absolute URLs on the same
 * path with a `paging` token (and the `search` of a GET query); a POST query is re-POSTed with the
 * same body to them. Every page is one request against the cap.
 */
export const query = (req: ApiRequest): ApiAnswer => {
  const spec = specOf(req);
  const parentMissing =
    spec.parent && req.route.parentId !== undefined && !spec.parent.get(req.route.parentId);
  const { spec: q, search } = req.route.template.toLowerCase().endsWith('/query')
    ? queryOf(req, spec)
    : { spec: parseQuery(undefined, null), search: null };
  const matching = parentMissing ? [] : scope(req, spec).filter(q.matches);
  const token = decodeToken(req.url.searchParams.get('paging'));
  let start: number;
  if (token.before !== undefined) {
    const end = firstIndexAbove(matching, token.before - 1);
    start = Math.max(0, end - q.maxRecords);
  } else {
    start = token.after === undefined ? 0 : firstIndexAbove(matching, token.after);
  }
  const page = matching.slice(start, start + q.maxRecords);
  const first = page[0];
  const last = page[page.length - 1];
  const link = (t: PageToken): string => {
    const params = new URLSearchParams();
    if (search !== null) params.set('search', search);
    params.set('paging', encodeToken(t));
    return `${req.origin}${req.url.pathname}?${params.toString()}`;
  };
  const hasNext = last !== undefined && start + page.length < matching.length;
  const hasPrev = first !== undefined && start > 0;
  return ok({
    items: page.map((e) => project(e, q.includeFields)),
    pageDetails: {
      count: page.length,
      requestCount: q.maxRecords,
      prevPageUrl: hasPrev ? link({ before: first.id }) : null,
      nextPageUrl: hasNext ? link({ after: last.id }) : null,
    },
  });
};

/** Index of the first entity with id > value (entities sorted by id). */
const firstIndexAbove = (sorted: readonly Entity[], value: number): number => {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.id <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};
