import { describe, expect, it } from 'vitest';
import { ceilingFor, connectionSettingsSchema } from '#shared/connections/model.ts';

const base = {
  apiUser: 'api@msp.example',
  integrationCode: 'CODE',
  secretRef: 'autotask-governor/prod/connections/x',
};

describe('connection settings', () => {
  it('defaults to the Autotask cap, a 60-minute window and ceilings 60/80/95 %', () => {
    const s = connectionSettingsSchema.parse(base);
    expect(s).toMatchObject({
      limit: 10_000,
      windowSeconds: 3600,
      ceilings: { bulk: 0.6, normal: 0.8, critical: 0.95 },
    });
    expect([ceilingFor(s, 'bulk'), ceilingFor(s, 'normal'), ceilingFor(s, 'critical')]).toEqual([
      6000, 8000, 9500,
    ]);
  });

  it('requires 0 < bulk <= normal <= critical <= 100 %', () => {
    const bad = [
      { bulk: 0, normal: 0.8, critical: 0.95 },
      { bulk: 0.9, normal: 0.8, critical: 0.95 },
      { bulk: 0.6, normal: 0.97, critical: 0.95 },
      { bulk: 0.6, normal: 0.8, critical: 1.01 },
    ];
    for (const ceilings of bad)
      expect(connectionSettingsSchema.safeParse({ ...base, ceilings }).success).toBe(false);
    expect(
      connectionSettingsSchema.safeParse({ ...base, ceilings: { bulk: 0.5, normal: 0.5, critical: 1 } })
        .success,
    ).toBe(true);
  });
});
