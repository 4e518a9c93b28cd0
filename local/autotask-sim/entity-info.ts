/**
 * Entity metadata: `{info}` (what the swagger allows on an entity) and `{fields}` (the model's
 * fields with their picklists) of entityInformation paths.
 */
import { type ApiRequest, specOf } from '#local/autotask-sim/api-request.ts';
import type { FieldList } from '#local/autotask-sim/models.ts';
import { methodsOf } from '#local/autotask-sim/routes.ts';
import { singular } from '#local/autotask-sim/store.ts';

/** Entities whose changes Autotask can push as webhooks (README). */
const WEBHOOK_ENTITIES = new Set(['tickets', 'ticketnotes', 'companies', 'contacts', 'configurationitems']);

const PICKLISTS: Record<string, Array<[value: number, label: string]>> = {
  'Ticket.status': [
    [1, 'New'],
    [5, 'Complete'],
    [7, 'Waiting Customer'],
    [8, 'In Progress'],
  ],
  'Ticket.priority': [
    [1, 'High'],
    [2, 'Medium'],
    [3, 'Low'],
    [4, 'Critical'],
  ],
  'Company.companyType': [
    [1, 'Customer'],
    [3, 'Prospect'],
    [5, 'Vendor'],
  ],
};

const ACCESS = (allowed: boolean) => (allowed ? 'All' : 'None');

/** `{"info":{...}}` for an entity path base, from the swagger's methods on it. */
export const infoOf = (base: string): { info: Record<string, unknown> } => {
  const segments = base.split('/');
  const child = segments[1] === '{parentId}';
  const last = segments[segments.length - 1] ?? base;
  const canCreate = methodsOf(base).includes('POST');
  const canUpdate = methodsOf(base).some((m) => m === 'PATCH' || m === 'PUT');
  const canDelete = methodsOf(`${base}/{id}`).includes('DELETE');
  const canQuery = methodsOf(`${base}/query`).length > 0 || (child && methodsOf(base).includes('GET'));
  return {
    info: {
      name: child ? `${singular(segments[0] ?? '')}${singular(last)}` : singular(last),
      canCreate,
      canDelete,
      canQuery,
      canUpdate,
      userAccessForCreate: ACCESS(canCreate),
      userAccessForDelete: ACCESS(canDelete),
      userAccessForQuery: ACCESS(canQuery),
      userAccessForUpdate: ACCESS(canUpdate),
      hasUserDefinedFields: methodsOf(`${base}/entityInformation/userDefinedFields`).length > 0,
      supportsWebhookCallouts: WEBHOOK_ENTITIES.has(base.toLowerCase()),
    },
  };
};

const DATA_TYPES: Record<string, string> = {
  long: 'long',
  integer: 'integer',
  string: 'string',
  datetime: 'datetime',
  double: 'double',
  boolean: 'boolean',
};

/** entityInformation/fields (the model's fields) or entityInformation/userDefinedFields (none). */
export const fieldsOf = (req: ApiRequest): unknown[] => {
  if (req.route.template.toLowerCase().endsWith('/userdefinedfields')) return [];
  const spec = specOf(req);
  const fields: FieldList = spec.fields ?? [['id', 'long']];
  return fields
    .filter(([, type]) => type in DATA_TYPES)
    .map(([name, type]) => {
      const isReference = name !== 'id' && /ID$/.test(name);
      const picks = PICKLISTS[`${spec.name}.${name}`];
      return {
        name,
        dataType: DATA_TYPES[type],
        length: type === 'string' ? 255 : 0,
        isRequired: name === 'id' || spec.required.includes(name),
        isReadOnly: spec.serverOwned.includes(name),
        isQueryable: true,
        isReference,
        referenceEntityType: isReference ? name.charAt(0).toUpperCase() + name.slice(1, -2) : '',
        isPickList: picks !== undefined,
        picklistValues: (picks ?? []).map(([value, label], i) => ({
          value: String(value),
          label,
          isDefaultValue: i === 0,
          sortOrder: i + 1,
          parentValue: '',
          isActive: true,
          isSystem: true,
        })),
        picklistParentValueField: '',
        isSupportedWebhookField: false,
      };
    });
};
