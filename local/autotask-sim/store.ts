/**
 * The simulator's in-memory database: seeded tickets, companies and ticket notes with every field of
 * their swagger model, and lazily seeded generic collections for every other entity path.
 * Deterministic (seeded PRNG), so tests can rely on ids and values.
 */
import {
  COMPANY_FIELDS,
  type FieldList,
  TICKET_FIELDS,
  TICKET_NOTE_FIELDS,
} from '#local/autotask-sim/models.ts';

export type Entity = { id: number; [field: string]: unknown };

/** One collection of entities with integer ids, handed out in ascending order. */
export class Collection {
  private readonly items = new Map<number, Entity>();
  private sorted: Entity[] | null = null;
  private nextId = 1;

  get size(): number {
    return this.items.size;
  }

  get(id: number): Entity | undefined {
    return this.items.get(id);
  }

  /**
   * Adds an entity or replaces the one with its id. Updates (PATCH, PUT) store a new object, so the
   * sorted list the query path reads gets it too: replaced in place (same id, same position) when
   * that list is built, rebuilt for a new id.
   */
  put(entity: Entity): void {
    const replacing = this.items.has(entity.id);
    this.items.set(entity.id, entity);
    if (entity.id >= this.nextId) this.nextId = entity.id + 1;
    if (!this.sorted) return;
    const at = replacing ? this.indexOf(entity.id) : -1;
    if (at >= 0) this.sorted[at] = entity;
    else this.sorted = null;
  }

  /** Position of `id` in the sorted list (binary search), or -1. */
  private indexOf(id: number): number {
    const sorted = this.sorted ?? [];
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const found = sorted[mid]?.id ?? 0;
      if (found === id) return mid;
      if (found < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  delete(id: number): boolean {
    this.sorted = null;
    return this.items.delete(id);
  }

  newId(): number {
    return this.nextId++;
  }

  /** Every entity, by ascending id (the order queries page in). */
  all(): readonly Entity[] {
    if (!this.sorted) this.sorted = [...this.items.values()].sort((a, b) => a.id - b.id);
    return this.sorted;
  }
}

/** What the handlers need to know about an entity path. */
export interface EntitySpec {
  /** Entity name as in entityInformation, e.g. `Ticket`, `CompanyNote`. */
  name: string;
  collection: Collection;
  /** The model's wire field names, or null for a generic entity (fields are whatever was stored). */
  fields: FieldList | null;
  /** Fields a create (POST) or full update (PUT) must carry. */
  required: readonly string[];
  /** Fields the server owns: set on create, kept on PUT, ignored in bodies. */
  serverOwned: readonly string[];
  /** For child paths (`Tickets/{parentId}/Notes`): the field holding the parent id. */
  parentField?: string;
  /** For child paths of a seeded parent: the parent's collection, to answer 404 for a missing parent. */
  parent?: Collection;
  /** Fields set on create when the body does not give them. */
  defaults?: (id: number, now: string) => Record<string, unknown>;
}

const GENERIC_SEED_TOP = 10;
const GENERIC_SEED_CHILD = 3;
const COMPANIES = 50;
const T0 = Date.parse('2024-01-01T08:00:00.000Z');
const MINUTE = 60_000;
const RESOURCES = [29682885, 29682886, 29682887, 29682888];
const QUEUES = [29682833, 29682969, 8];
const TITLES = [
  'Printer offline',
  'Cannot connect to VPN',
  'New starter laptop',
  'Mailbox full',
  'Backup job failed',
  'Password reset',
  'Slow file server',
  'Firewall firmware update',
  'Phone system down',
  'License renewal',
];
const CITIES: ReadonlyArray<readonly [string, string, string]> = [
  ['Springfield', 'IL', '62701'],
  ['Riverside', 'CA', '92501'],
  ['Franklin', 'TN', '37064'],
  ['Greenville', 'SC', '29601'],
  ['Madison', 'WI', '53703'],
];

/** mulberry32: small, fast, deterministic. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const iso = (ms: number): string => new Date(ms).toISOString();

/** An entity with every field of the model (null unless given), in the model's order. */
export const materialize = (fields: FieldList, values: Record<string, unknown>): Entity => {
  const entity: Record<string, unknown> = {};
  for (const [name, type] of fields) entity[name] = values[name] ?? (type === 'udf' ? [] : null);
  return entity as Entity;
};

/** `Companies` -> `Company`, `Notes` -> `Note`, `ConfigurationItems` -> `ConfigurationItem`. */
export const singular = (word: string): string => {
  if (/ies$/i.test(word)) return word.slice(0, -3) + 'y';
  if (/(ss|x|ch|sh)es$/i.test(word)) return word.slice(0, -2);
  if (/[^s]s$/i.test(word)) return word.slice(0, -1);
  return word;
};

/** `Companies` -> `companyID`: the field a generic child entity keeps its parent's id in. */
const parentFieldOf = (parentSegment: string): string => {
  const name = singular(parentSegment);
  return `${name.charAt(0).toLowerCase()}${name.slice(1)}ID`;
};

export class SimStore {
  readonly tickets = new Collection();
  readonly companies = new Collection();
  readonly ticketNotes = new Collection();
  private readonly generics = new Map<string, Collection>();
  private readonly ticketSpec: EntitySpec;
  private readonly companySpec: EntitySpec;
  private readonly ticketNoteSpec: EntitySpec;

  constructor(seedTickets: number) {
    this.seed(seedTickets);
    this.ticketSpec = {
      name: 'Ticket',
      collection: this.tickets,
      fields: TICKET_FIELDS,
      required: ['companyID', 'title'],
      serverOwned: ['id', 'createDate', 'ticketNumber'],
      defaults: (id, now) => ({
        status: 1,
        priority: 2,
        queueID: QUEUES[0],
        ticketType: 1,
        source: 2,
        creatorType: 1,
        createDate: now,
        lastActivityDate: now,
        ticketNumber: `T${now.slice(0, 10).replaceAll('-', '')}.${String(id).padStart(4, '0')}`,
      }),
    };
    this.companySpec = {
      name: 'Company',
      collection: this.companies,
      fields: COMPANY_FIELDS,
      required: ['companyName', 'companyType', 'phone', 'ownerResourceID'],
      serverOwned: ['id', 'createDate'],
      defaults: (_id, now) => ({ isActive: true, createDate: now, lastActivityDate: now }),
    };
    this.ticketNoteSpec = {
      name: 'TicketNote',
      collection: this.ticketNotes,
      fields: TICKET_NOTE_FIELDS,
      required: ['description', 'noteType', 'publish', 'title'],
      serverOwned: ['id', 'createDateTime'],
      parentField: 'ticketID',
      parent: this.tickets,
      defaults: (_id, now) => ({
        createDateTime: now,
        lastActivityDate: now,
        creatorResourceID: RESOURCES[0],
      }),
    };
  }

  /**
   * The entity behind a path template's base (the template without `/{id}`, `/query...` or
   * `/entityInformation...`), e.g. `Tickets`, `Tickets/{parentId}/Notes`, `Contacts`.
   */
  resolve(base: string, parentId?: number): EntitySpec {
    const lower = base.toLowerCase();
    if (lower === 'tickets') return this.ticketSpec;
    if (lower === 'companies') return this.companySpec;
    if (lower === 'tickets/{parentid}/notes') return this.ticketNoteSpec;
    if (lower === 'ticketnotes') return { ...this.ticketNoteSpec, parentField: undefined, parent: undefined };
    const segments = base.split('/');
    const child = segments.length >= 3 && segments[1] === '{parentId}';
    const last = segments[segments.length - 1] ?? base;
    const name = child ? `${singular(segments[0] ?? '')}${singular(last)}` : singular(last);
    if (!child) return this.genericSpec(name, lower, undefined);
    return this.genericSpec(name, `${lower}#${parentId ?? 0}`, parentFieldOf(segments[0] ?? ''), parentId);
  }

  private genericSpec(name: string, key: string, parentField?: string, parentId?: number): EntitySpec {
    let collection = this.generics.get(key);
    if (!collection) {
      collection = new Collection();
      const n = parentField ? GENERIC_SEED_CHILD : GENERIC_SEED_TOP;
      for (let id = 1; id <= n; id++) {
        collection.put(parentField ? { id, [parentField]: parentId ?? 0 } : { id });
      }
      this.generics.set(key, collection);
    }
    return {
      name,
      collection,
      fields: null,
      required: [],
      serverOwned: ['id'],
      ...(parentField ? { parentField } : {}),
    };
  }

  private seed(ticketCount: number): void {
    const random = prng(20240101);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

    this.companies.put(
      materialize(COMPANY_FIELDS, {
        id: 0,
        companyName: 'Local MSP (owner)',
        companyNumber: '0',
        companyType: 5,
        isActive: true,
        phone: '555-0100',
        ownerResourceID: RESOURCES[0],
        createDate: iso(T0 - 365 * 24 * 60 * MINUTE),
        isClientPortalActive: false,
        isEnabledForComanaged: false,
        isTaskFireActive: false,
        isTaxExempt: false,
        invoiceNonContractItemsToParentCompany: false,
      }),
    );
    for (let id = 1; id <= COMPANIES; id++) {
      const [city, state, postalCode] = pick(CITIES);
      const created = T0 - (COMPANIES - id) * 24 * 60 * MINUTE;
      this.companies.put(
        materialize(COMPANY_FIELDS, {
          id,
          companyName: `Simulated Customer ${String(id).padStart(2, '0')}`,
          companyNumber: String(1000 + id),
          companyType: id % 10 === 0 ? 3 : 1,
          isActive: id % 17 !== 0,
          phone: `555-${String(1000 + id).padStart(4, '0')}`,
          address1: `${id} Main Street`,
          city,
          state,
          postalCode,
          countryID: 237,
          webAddress: `https://customer${id}.example`,
          ownerResourceID: pick(RESOURCES),
          createDate: iso(created),
          lastActivityDate: iso(created + 30 * 24 * 60 * MINUTE),
          isClientPortalActive: false,
          isEnabledForComanaged: false,
          isTaskFireActive: false,
          isTaxExempt: false,
          invoiceNonContractItemsToParentCompany: false,
        }),
      );
    }

    for (let id = 1; id <= ticketCount; id++) {
      const created = T0 + id * 37 * MINUTE;
      const status = pick([1, 1, 1, 5, 5, 8, 7]);
      const day = iso(created).slice(0, 10).replaceAll('-', '');
      this.tickets.put(
        materialize(TICKET_FIELDS, {
          id,
          companyID: 1 + ((id - 1) % COMPANIES),
          title: `${pick(TITLES)} #${id}`,
          description: `Simulated ticket ${id}.`,
          status,
          priority: pick([1, 2, 2, 3, 4]),
          queueID: pick(QUEUES),
          ticketType: 1,
          source: pick([1, 2, 4]),
          issueType: pick([null, 7, 8]),
          creatorType: 1,
          creatorResourceID: pick(RESOURCES),
          assignedResourceID: pick([...RESOURCES, null]),
          ticketNumber: `T${day}.${String(id).padStart(4, '0')}`,
          createDate: iso(created),
          dueDateTime: iso(created + 3 * 24 * 60 * MINUTE),
          lastActivityDate: iso(created + Math.floor(random() * 48) * 60 * MINUTE),
          completedDate: status === 5 ? iso(created + 26 * 60 * MINUTE) : null,
          estimatedHours: pick([0, 0.5, 1, 2, 4]),
          serviceLevelAgreementHasBeenMet: status === 5 ? random() > 0.2 : null,
        }),
      );
    }

    for (let ticketID = 1; ticketID <= Math.min(100, ticketCount); ticketID++) {
      for (let k = 0; k <= ticketID % 3; k++) {
        const id = this.ticketNotes.newId();
        const created = T0 + ticketID * 37 * MINUTE + (k + 1) * 45 * MINUTE;
        this.ticketNotes.put(
          materialize(TICKET_NOTE_FIELDS, {
            id,
            ticketID,
            title: k === 0 ? 'Initial triage' : `Update ${k}`,
            description: `Simulated note ${k + 1} on ticket ${ticketID}.`,
            noteType: 1,
            publish: k === 0 ? 1 : 2,
            creatorResourceID: pick(RESOURCES),
            createDateTime: iso(created),
            lastActivityDate: iso(created),
          }),
        );
      }
    }
  }
}
