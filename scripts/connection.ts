/**
 * `npm run connection -- put <id> --api-user <email> --integration-code <code> --secret-ref <name> [--limit 10000]
 *  [--window-seconds 3600] [--recipients a@x,b@y] [--disable]` and `npm run connection -- list`.
 * Writes connection settings straight into the table named by TABLE_NAME (your AWS credentials), or
 * into the running local stack with `--local` (reads .local/stack.json). Settings are validated.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    local: { type: 'boolean' },
    'api-user': { type: 'string' },
    'integration-code': { type: 'string' },
    'secret-ref': { type: 'string' },
    limit: { type: 'string' },
    'window-seconds': { type: 'string' },
    recipients: { type: 'string' },
    disable: { type: 'boolean' },
  },
});
if (values.local) {
  const stack = JSON.parse(readFileSync('.local/stack.json', 'utf8')) as {
    env: Record<string, string>;
    tableName: string;
  };
  Object.assign(process.env, stack.env, { TABLE_NAME: stack.tableName });
}
const tableName = process.env.TABLE_NAME;
if (!tableName) throw new Error('set TABLE_NAME (the stack output TableName) or pass --local');
const { dynamo } = await import('#shared/aws/dynamo.ts');
const { DynamoConnectionStore } = await import('#shared/connections/store.ts');
const store = new DynamoConnectionStore(dynamo, tableName);
const [command, id] = positionals;
if (command === 'list') {
  for (const c of await store.list()) console.log(JSON.stringify(c));
} else if (command === 'put' && id) {
  const saved = await store.put(id, {
    apiUser: values['api-user'] ?? '',
    integrationCode: values['integration-code'] ?? '',
    secretRef: values['secret-ref'] ?? '',
    ...(values.limit ? { limit: Number(values.limit) } : {}),
    ...(values['window-seconds'] ? { windowSeconds: Number(values['window-seconds']) } : {}),
    ...(values.recipients ? { alertRecipients: values.recipients.split(',') } : {}),
    ...(values.disable ? { enabled: false } : {}),
  });
  console.log(JSON.stringify(saved, null, 2));
} else {
  console.error(
    'usage: npm run connection -- put <id> --api-user <email> --integration-code <code> --secret-ref <name> | list',
  );
  process.exit(2);
}
