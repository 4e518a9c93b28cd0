/**
 * The answers of the Autotask API once a request has been admitted (authenticated, under the cap,
 * within the thread limit): the envelopes `{item}`, `{items,pageDetails}`, `{itemId}`,
 * `{queryCount}`, `{info}`, `{fields}`, ... over the in-memory store. Errors are thrown as
 * `SimHttpError` and become `{"errors":[message]}`.
 *
 * Validation errors (bad JSON, a missing id on PATCH/PUT, a missing required field, a bad filter)
 * answer 400 here; the real API answers some of them with 500 and the same envelope.
 *
 * Pages of queries: paging.ts. Writes: writes.ts. `{info}`/`{fields}`: entity-info.ts. The request
 * and the helpers they share: api-request.ts.
 */
import {
  type ApiAnswer,
  type ApiRequest,
  badRequest,
  belongs,
  describeEntity,
  notFound,
  ok,
  queryOf,
  scope,
  specOf,
} from '#local/autotask-sim/api-request.ts';
import { fieldsOf, infoOf } from '#local/autotask-sim/entity-info.ts';
import { query } from '#local/autotask-sim/paging.ts';
import { SimHttpError } from '#local/autotask-sim/query.ts';
import { write } from '#local/autotask-sim/writes.ts';

export type { ApiAnswer, ApiRequest } from '#local/autotask-sim/api-request.ts';

export const handleApi = (req: ApiRequest): ApiAnswer => {
  const { route } = req;
  switch (route.kind) {
    case 'threshold':
      return ok(req.threshold());
    case 'apiVersions':
      return ok({ apiVersions: ['1.0'] });
    case 'entityDescriptions':
      return ok({
        entityDescriptions: ['Tickets', 'Companies', 'Contacts', 'ConfigurationItems'].map(infoOf),
      });
    case 'info':
      return ok(infoOf(route.base));
    case 'fields':
      return ok({ fields: fieldsOf(req) });
    case 'count':
      return count(req);
    case 'query':
      return query(req);
    case 'item':
      return item(req);
    case 'itemId':
      return write(req);
    default:
      // 'zone' is answered before admission (zone look-ups are not counted).
      throw new SimHttpError(500, `No handler for ${route.method} ${route.template}.`);
  }
};

const count = (req: ApiRequest): ApiAnswer => {
  const spec = specOf(req);
  const { spec: q } = queryOf(req, spec);
  return ok({ queryCount: scope(req, spec).filter(q.matches).length });
};

const item = (req: ApiRequest): ApiAnswer => {
  const spec = specOf(req);
  let id = req.route.id;
  if (id === undefined) {
    // A lone item without {id} in the path (InvoicePDF): the id is a query parameter.
    const raw = req.url.searchParams.get('id');
    if (raw === null || !/^[0-9]+$/.test(raw)) return badRequest('The "id" query parameter is required.');
    id = Number(raw);
  }
  const entity = spec.collection.get(id);
  if (!entity || !belongs(req, spec, entity)) return notFound(describeEntity(spec, id));
  return ok({ item: entity });
};
