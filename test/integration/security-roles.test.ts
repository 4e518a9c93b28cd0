/**
 * Issue 21, "every token is an admin": every route of the operators' API against every role, as
 * docs/security.md documents them. A refused call answers 403 `insufficient-role` and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_USER, type LocalGovernor } from '#local/governor.ts';
import { call, quietConnection, startOperatorGovernor } from '../support/operators.ts';

type Who = 'viewer' | 'operator' | 'admin' | 'jobs' | 'anonymous';
const WHO: Who[] = ['viewer', 'operator', 'admin', 'jobs', 'anonymous'];

let gov: LocalGovernor;
const tokens: Partial<Record<Who, string>> = {};

beforeAll(async () => {
  ({ gov, token: (tokens.admin as string) } = await startOperatorGovernor('roles-admin', {
    ...quietConnection(6000, 60),
    syncIntervalMs: 0,
  }));
  for (const role of ['viewer', 'operator', 'jobs'] as const)
    tokens[role] = await gov.createToken(`roles-${role}`, role);
}, 60_000);

afterAll(async () => {
  await gov?.stop();
});

/** The documented matrix: the status each caller gets (the rows run in this order, per caller). */
const matrix = (id: string) => {
  const settings = {
    apiUser: LOCAL_USER.username,
    integrationCode: LOCAL_USER.integrationCode,
    limit: 6000,
    windowSeconds: 60,
  };
  const job = { jobId: 'role-job', connectionId: id, request: { method: 'GET', path: '/Tickets/1' } };
  //         route                                      viewer operator admin jobs anonymous
  return [
    ['GET', '/connections', undefined, [200, 200, 200, 403, 401]],
    ['GET', `/connections/${id}`, undefined, [200, 200, 200, 403, 401]],
    ['GET', `/connections/${id}/usage`, undefined, [200, 200, 200, 403, 401]],
    ['POST', `/connections/${id}/sleep`, { reason: 'roles test' }, [403, 200, 200, 403, 401]],
    ['POST', `/connections/${id}/wake`, { reason: 'roles test' }, [403, 200, 200, 403, 401]],
    ['PUT', `/connections/${id}`, settings, [403, 403, 200, 403, 401]],
    ['POST', '/jobs', job, [403, 403, 202, 202, 401]],
    // wake links carry their own credential: every caller gets the same answer for a bad one
    ['GET', '/wake-links/not-a-link', undefined, [403, 403, 403, 403, 403]],
    ['POST', '/wake-links/not-a-link', undefined, [403, 403, 403, 403, 403]],
  ] as const;
};

describe('roles', () => {
  it('every route x every role answers as documented; a refusal changes nothing', async () => {
    const rows = matrix(gov.connectionId);
    const got: string[] = [];
    const want: string[] = [];
    for (const [i, who] of WHO.entries()) {
      for (const [method, path, body, expected] of rows) {
        const before = (await call(gov, 'GET', `/connections/${gov.connectionId}`, { token: tokens.admin }))
          .json;
        const answer = await call(gov, method, path, {
          ...(tokens[who] ? { token: tokens[who] } : {}),
          ...(body ? { body } : {}),
        });
        got.push(`${who} ${method} ${path} -> ${answer.status}`);
        want.push(`${who} ${method} ${path} -> ${expected[i]}`);
        if (answer.status === 403 && !path.startsWith('/wake-links/')) {
          expect(answer.json.error.code).toBe('insufficient-role');
          expect(answer.json.error.message).toMatch(new RegExp(`a ${who} token may not ${method}`));
          const after = (await call(gov, 'GET', `/connections/${gov.connectionId}`, { token: tokens.admin }))
            .json;
          expect(after.transitions, `${who} ${method} ${path}`).toEqual(before.transitions);
          expect(after.state).toBe(before.state);
        }
        if (answer.status === 401) expect(answer.json.error.code).toBe('unauthorized');
      }
    }
    expect(got).toEqual(want);
    // operator and admin each slept and woke it: four transitions, no more
    const status = (await call(gov, 'GET', `/connections/${gov.connectionId}`, { token: tokens.admin })).json;
    expect(status.transitions.map((t: { who: string }) => t.who)).toEqual([
      'roles-admin',
      'roles-admin',
      'roles-operator',
      'roles-operator',
    ]);
  }, 90_000);
});
