import type { JobInput } from '#shared/jobs/schema.ts';

/** A dozen integrations touching different entities: 16 endpoints, so 32 workers can all be busy
 *  without any endpoint needing more than Autotask's 3 threads. */
export const ENDPOINTS = [
  'Tickets',
  'Companies',
  'Contacts',
  'Projects',
  'Tasks',
  'ConfigurationItems',
  'Contracts',
  'Resources',
  'Opportunities',
  'Quotes',
  'Invoices',
  'Products',
  'Services',
  'TimeEntries',
  'Appointments',
  'Roles',
] as const;

export const readJobs = (prefix: string, connectionId: string, count: number): JobInput[] =>
  Array.from({ length: count }, (_, i) => ({
    jobId: `${prefix}-${i}`,
    connectionId,
    request: { method: 'GET', path: `/${ENDPOINTS[i % ENDPOINTS.length]}/${1 + (i % 10)}` },
  }));

export const writeJobs = (prefix: string, connectionId: string, count: number): JobInput[] =>
  Array.from({ length: count }, (_, i) => ({
    jobId: `${prefix}-${i}`,
    connectionId,
    request: {
      method: 'POST',
      path: '/Tickets',
      body: {
        title: `${prefix}-${i}`,
        companyID: 0,
        status: 1,
        priority: 2,
        queueID: 1,
        dueDateTime: '2026-12-01T00:00:00Z',
      },
    },
  }));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
