import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { PROJECT_ROOT } from '../../infra/constructs/governor-function.ts';
import { addGovernor } from '../../infra/governor-stack.ts';

export interface SynthesizedBundles {
  outdir: string;
  /** Function construct id ('Worker', 'Sync', 'Api') -> the bundled entry file synth wrote. */
  bundles: Record<string, string>;
  cleanup(): void;
}

/**
 * Synthesizes the CDK app exactly as `cdk synth` does (bundling by the local esbuild) into a
 * folder under .build/, and finds each Lambda function's bundle through the template's asset metadata.
 */
export const synthBundles = (name: string): SynthesizedBundles => {
  const outdir = path.join(PROJECT_ROOT, '.build', name);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  // the same context `cdk synth` reads from cdk.json
  const { context } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({ outdir, context: { ...context, 'aws:cdk:enable-asset-metadata': true } });
  const stack = addGovernor(app);
  app.synth();
  const template = JSON.parse(
    readFileSync(path.join(outdir, `${stack.artifactId}.template.json`), 'utf8'),
  ) as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  const bundles: Record<string, string> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || !assetPath) continue;
    const dir = path.join(outdir, assetPath);
    const entry = readdirSync(dir).find((f) => /^index\.m?js$/.test(f));
    const id = ['Worker', 'Sync', 'Api'].find((n) => logicalId.startsWith(n));
    if (entry && id) bundles[id] = path.join(dir, entry);
  }
  return { outdir, bundles, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
};
