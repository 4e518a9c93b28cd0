import { App } from 'aws-cdk-lib';
import { ConfigError } from './config.ts';
import { addGovernor } from './governor-stack.ts';

const app = new App();
try {
  addGovernor(app);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`\n${error.message}\n\n`);
  process.exit(1);
}
app.synth();
