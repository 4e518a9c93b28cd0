import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../../infra/constructs/governor-function.ts';
import { addGovernor } from '../../infra/governor-stack.ts';

const BUILD_DIR = path.join(PROJECT_ROOT, '.build', 'cdk-test');
const outdirs: string[] = [];

const newApp = (context: Record<string, unknown> = {}) => {
  mkdirSync(BUILD_DIR, { recursive: true });
  const outdir = mkdtempSync(path.join(BUILD_DIR, 'nag-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { senderEmail: 'alerts@msp.example', ...context } });
  return { app, outdir };
};
const noBundling = { 'aws:cdk:bundling-stacks': [] };

type Report = {
  pluginReports: Array<{
    violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>;
  }>;
};
const findingsIn = (outdir: string): string[] => {
  const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as Report;
  return report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`)),
  );
};

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

describe('cdk-nag AWS Solutions checks', () => {
  it('leave no unacknowledged finding, and every acknowledgement gives a reason', () => {
    const { app, outdir } = newApp(noBundling);
    const stack = addGovernor(app);
    expect(() => app.synth()).not.toThrow();
    expect(findingsIn(outdir)).toEqual([]);

    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledged) {
      expect(id).toMatch(/AwsSolutions-/);
      expect(reason.length, `reason for ${id}`).toBeGreaterThan(60);
    }
  });

  it('acknowledge only findings that really occur (no stale acknowledgements)', () => {
    const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => {});
    const { app, outdir } = newApp(noBundling);
    try {
      addGovernor(app);
      expect(() => app.synth()).toThrow(/AwsSolutions-/);
    } finally {
      spy.mockRestore();
    }
    const rules = new Set(findingsIn(outdir).map((f) => f.split(' @ ')[0]));
    expect([...rules].sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:autotask-governor/prod/connections/*]',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
    ]);
  });

  it('fail synth on a new, unacknowledged finding', () => {
    const { app, outdir } = newApp(noBundling);
    const stack = addGovernor(app);
    new Queue(stack, 'CarelessQueue', { enforceSSL: false });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
    expect(findingsIn(outdir).some((f) => f.includes('CarelessQueue'))).toBe(true);
  });
});

describe('bundling with the local esbuild', () => {
  it('produces one minified ESM file per function, with its source map and the AWS SDK inside', () => {
    const { app, outdir } = newApp();
    const stack = addGovernor(app);
    const template = Template.fromStack(stack);
    const sizes: Record<string, number> = {};
    for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      const key: string = fn.Properties.Code.S3Key;
      const asset = path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      const file = path.join(asset, 'index.mjs');
      expect(existsSync(file), file).toBe(true);
      expect(existsSync(`${file}.map`)).toBe(true);
      const code = readFileSync(file, 'utf8');
      expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
      expect(code, 'AWS SDK bundled, not imported from the runtime').not.toMatch(/from\s*"@aws-sdk\//);
      // infra/bundling/aliases.ts: an ES import of node:http would load undici at init.
      expect(code, 'node:http through the CommonJS loader').not.toMatch(/from\s*"(node:)?http"/);
      expect(code, 'no default credential chain').not.toContain('fromTokenFile');
      sizes[id] = statSync(file).size;
    }
    const worker = Object.entries(sizes).find(([id]) => id.startsWith('WorkerFunction'));
    expect(worker).toBeDefined();
    // Regression guard (an accidental double SDK or a dev dependency pulled in). The 600 KB goal
    // needs shared/ to import zod as a namespace (see README.md, "Deploy" / "Bundles").
    expect(worker![1]).toBeLessThan(1_100_000);
  });
});
