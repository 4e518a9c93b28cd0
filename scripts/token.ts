/**
 * `npm run token -- create --name <name> [--role viewer|operator|admin|jobs]`, `npm run token -- revoke <id>`,
 * `npm run token -- list`. A new token's role defaults to viewer (docs/security.md, "Roles").
 * Manages the operators' API tokens straight in the table named by TABLE_NAME (your AWS credentials),
 * or in the running local stack with `--local` (reads .local/stack.json). A new token is printed once,
 * on stdout alone (so `$(npm run -s token -- create --name x)` captures it); only its hash is stored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = [
  'usage: npm run token -- create --name <name> [--role viewer|operator|admin|jobs] [--local]',
  '       npm run token -- revoke <id> [--local]',
  '       npm run token -- list [--local]',
  'Without --local, TABLE_NAME must name the stack table (stack output TableName).',
].join('\n');

const fail = (message: string, code = 2): never => {
  console.error(`${message}\n${USAGE}`);
  process.exit(code);
};

const parseCli = () => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        local: { type: 'boolean' },
        name: { type: 'string' },
        role: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
};
const { values, positionals } = parseCli();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const [command, ...rest] = positionals;
if (command === 'create') {
  if (rest.length > 0) fail(`create takes no positional arguments (got ${rest.join(' ')}); use --name`);
  if (values.name === undefined) fail('create needs --name <name>');
} else if (command === 'revoke') {
  if (rest.length !== 1) fail('revoke needs exactly one token id (see `npm run token -- list`)');
  if (values.name !== undefined || values.role !== undefined) fail('--name and --role are only for create');
} else if (command === 'list') {
  if (rest.length > 0 || values.name !== undefined || values.role !== undefined)
    fail('list takes no arguments');
} else {
  fail(command ? `unknown command "${command}"` : 'missing command');
}

if (values.local) {
  if (!existsSync('.local/stack.json'))
    fail('--local needs a running local stack: start `npm run local` first');
  const stack = JSON.parse(readFileSync('.local/stack.json', 'utf8')) as {
    env: Record<string, string>;
    tableName: string;
  };
  Object.assign(process.env, stack.env, { TABLE_NAME: stack.tableName });
}
const tableName = process.env.TABLE_NAME;
if (!tableName) fail('set TABLE_NAME (the stack output TableName) or pass --local');

const { dynamo } = await import('#shared/aws/dynamo.ts');
const { DynamoTokenStore, validateRole } = await import('#shared/auth/tokens.ts');
const { ValidationError } = await import('#shared/errors.ts');
const store = new DynamoTokenStore(dynamo, tableName!);

try {
  if (command === 'create') {
    const created = await store.create(values.name ?? '', validateRole(values.role ?? 'viewer'));
    console.error(
      `created API token ${created.id} "${created.name}" (role ${created.role}) at ${created.createdAt}`,
    );
    console.log(created.token);
    console.error(
      'Store this token now: it cannot be shown again (only its SHA-256 hash is kept). ' +
        `Revoke it with: npm run token -- revoke ${created.id}`,
    );
  } else if (command === 'revoke') {
    const id = rest[0] ?? '';
    if (!(await store.revoke(id))) {
      console.error(`no API token with id "${id}"`);
      process.exitCode = 1;
    } else {
      console.error(`revoked API token ${id}`);
    }
  } else {
    for (const token of await store.list()) console.log(JSON.stringify(token));
  }
} catch (error) {
  if (error instanceof ValidationError) fail(error.message);
  throw error;
} finally {
  dynamo.destroy();
}
