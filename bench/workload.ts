import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { LocalGovernor } from '#local/governor.ts';
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

/** A queue's messages: visible, in flight and delayed (SQS's approximate counts). */
export const queueCounts = async (gov: LocalGovernor, queueUrl: string) => {
  const out = await gov.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  const visible = Number(a.ApproximateNumberOfMessages ?? 0);
  const inFlight = Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
  const delayed = Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  return { visible, inFlight, delayed, total: visible + inFlight + delayed };
};
