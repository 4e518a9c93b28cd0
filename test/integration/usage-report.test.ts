import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGovernor } from '#local/governor.ts';
import type { JobInput } from '#shared/jobs/schema.ts';
import { collector } from '../support/governor-helpers.ts';
import { call, startOperatorGovernor, waitFor } from '../support/operators.ts';

// Issue 4, acceptance 6: GET /connections/{id}/usage, JSON and CSV, one row per hour for the
// current day and the 3 before, from the budget item's live counters and the archived hours.
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let gov: LocalGovernor;
let token: string;

beforeAll(async () => {
  ({ gov, token } = await startOperatorGovernor('reports'));
});

afterAll(async () => {
  await gov?.stop();
});

describe('usage report', () => {
  it('has a row per hour for 4 days with our calls, others, throttled, 429s and priorities, as CSV and JSON', async () => {
    const results = collector(gov);
    const jobs: JobInput[] = [
      ...[1, 2, 3, 4, 5].map((i) => ({
        jobId: `n${i}`,
        connectionId: gov.connectionId,
        request: { method: 'GET' as const, path: `/Tickets/${i}` },
      })),
      ...[1, 2].map((i) => ({
        jobId: `c${i}`,
        connectionId: gov.connectionId,
        priority: 'critical' as const,
        request: { method: 'GET' as const, path: `/Companies/${i}` },
      })),
    ];
    await gov.sendJobs(jobs);
    await results.until(() => results.results.size === jobs.length, 15_000);

    // older hours, archived the way the sync archives them
    const { dynamo } = await import('#shared/aws/clients.ts');
    const { DynamoBudgetStore } = await import('#shared/budget/dynamo-budget.ts');
    const { emptySnapshot } = await import('#shared/budget/window.ts');
    const { HourlyUsage, CSV_COLUMNS } = await import('#shared/usage/hourly.ts');
    const budget = new DynamoBudgetStore(dynamo, gov.resources.tableName);
    const now = Date.now();
    const hourNow = Math.floor(now / HOUR);
    const old = [hourNow - 70, hourNow - 50, hourNow - 30];
    const snap = emptySnapshot(now, 0);
    for (const h of old) {
      snap.hourly.set(`h${h}_normal`, 10);
      snap.hourly.set(`h${h}_bulk`, 5);
      snap.hourly.set(`oh${h}`, 100);
      snap.hourly.set(`t${h}`, 3);
      snap.hourly.set(`x${h}`, 1);
      snap.hourly.set(`n${h}_Tickets`, 15);
    }
    expect(
      await new HourlyUsage(dynamo, gov.resources.tableName, budget).archive(gov.connectionId, snap),
    ).toBe(3);

    // an hour still on the budget item: the sync moves it out within a period
    const recent = hourNow - 5;
    await dynamo.send(
      new UpdateItemCommand({
        TableName: gov.resources.tableName,
        Key: { pk: { S: `CONN#${gov.connectionId}` }, sk: { S: 'BUDGET' } },
        UpdateExpression: 'SET #h = :n',
        ExpressionAttributeNames: { '#h': `h${recent}_normal` },
        ExpressionAttributeValues: { ':n': { N: '4' } },
      }),
    );
    await waitFor(
      async () => !(await budget.snapshot(gov.connectionId, 60)).hourly.has(`h${recent}_normal`),
      15_000,
    );

    const csv = await call(gov, 'GET', `/connections/${gov.connectionId}/usage?format=csv`, { token });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename=".*\.csv"/);
    // a browser must not sniff the rows (operator-controlled text) into HTML
    expect(csv.headers.get('x-content-type-options')).toBe('nosniff');
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    const firstHour = Math.floor((Math.floor(now / DAY) * DAY - 3 * DAY) / HOUR);
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.length).toBeGreaterThanOrEqual(hourNow - firstHour + 1);
    expect(rows.length).toBeLessThanOrEqual(hourNow - firstHour + 2); // the hour may turn meanwhile
    for (const [i, row] of rows.entries()) {
      expect(row).toHaveLength(CSV_COLUMNS.length);
      expect(row[0]).toBe(new Date((firstHour + i) * HOUR).toISOString());
      for (const cell of row.slice(1)) expect(cell).toMatch(/^\d+$/);
    }
    const byHour = new Map(rows.map((r) => [Date.parse(r[0] as string) / HOUR, r.slice(1).map(Number)]));
    for (const h of old.filter((h) => h >= firstHour)) {
      // our, others, total, throttled, 429s, critical, normal, bulk, sync
      expect(byHour.get(h)).toEqual([15, 100, 115, 3, 1, 0, 10, 5, 0]);
    }
    expect(byHour.get(recent)?.[6]).toBe(4);
    const current = byHour.get(hourNow) ?? byHour.get(hourNow + 1);
    expect(current?.[5]).toBeGreaterThanOrEqual(2); // critical
    expect(current?.[6]).toBeGreaterThanOrEqual(5); // normal
    expect(current?.[8]).toBeGreaterThanOrEqual(1); // the sync's own ThresholdInformation reads

    const json = await call(gov, 'GET', `/connections/${gov.connectionId}/usage`, { token });
    expect(json.status).toBe(200);
    expect(json.json.hours).toHaveLength(rows.length);

    const from = new Date((old[2] as number) * HOUR).toISOString();
    const ranged = await call(gov, 'GET', `/connections/${gov.connectionId}/usage?from=${from}&to=${from}`, {
      token,
    });
    expect(ranged.json.hours).toEqual([
      expect.objectContaining({ hour: from, ours: 15, others: 100, total: 115 }),
    ]);
    expect(ranged.json.hours[0].endpoints).toEqual({ Tickets: 15 });

    for (const bad of [
      'format=xml',
      'from=yesterday',
      `from=${new Date(now).toISOString()}&to=2020-01-01`,
      'x=1',
    ]) {
      const answer = await call(gov, 'GET', `/connections/${gov.connectionId}/usage?${bad}`, { token });
      expect(answer.status, bad).toBe(400);
      expect(answer.json.error.message).toEqual(expect.any(String));
    }
  }, 60_000);

  it('POST /jobs queues valid jobs (one or a batch, the SQS contract) and names each rejected one', async () => {
    const results = collector(gov);
    const job = (jobId: string, connectionId = gov.connectionId) => ({
      jobId,
      connectionId,
      request: { method: 'GET', path: '/Tickets/3' },
    });
    const one = await call(gov, 'POST', '/jobs', { token, body: job('http-1') });
    expect(one.status).toBe(202);
    expect(one.json.accepted).toEqual([expect.objectContaining({ index: 0, jobId: 'http-1' })]);
    const batch = await call(gov, 'POST', '/jobs', {
      token,
      body: { jobs: [job('http-2'), { jobId: 'bad' }, job('http-3', 'no-such-connection'), job('http-4')] },
    });
    expect(batch.status).toBe(202);
    expect(batch.json.accepted.map((a: { jobId: string }) => a.jobId)).toEqual(['http-2', 'http-4']);
    expect(batch.json.rejected).toEqual([
      expect.objectContaining({
        index: 1,
        jobId: 'bad',
        error: expect.stringMatching(/connectionId|request/),
      }),
      expect.objectContaining({ index: 2, jobId: 'http-3', error: expect.stringMatching(/no connection/) }),
    ]);
    await results.until(() => ['http-1', 'http-2', 'http-4'].every((id) => results.results.has(id)), 15_000);
    for (const id of ['http-1', 'http-2', 'http-4'])
      expect(results.results.get(id)?.status).toBe('succeeded');
    expect(results.dead.size).toBe(0);
    expect((await call(gov, 'POST', '/jobs', { body: job('http-5') })).status).toBe(401);
  }, 30_000);
});
