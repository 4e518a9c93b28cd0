/**
 * Structured JSON logs, one line per event, so CloudWatch Logs Insights can filter on any field.
 * Deliberately tiny (no Powertools) to keep the worker's bundle and cold start small.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const configured = (process.env.LOG_LEVEL ?? 'info').toLowerCase() as Level;
let threshold =
  (configured as string) === 'silent' ? Number.POSITIVE_INFINITY : (order[configured] ?? order.info);
let sink: (line: string) => void = (line) => process.stdout.write(`${line}\n`);

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const serializeError = (value: unknown): unknown =>
  value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;

const make = (base: Record<string, unknown>): Logger => {
  const write = (level: Level, message: string, fields?: Record<string, unknown>) => {
    if (order[level] < threshold) return;
    const entry: Record<string, unknown> = { level, message, timestamp: new Date().toISOString(), ...base };
    for (const [key, value] of Object.entries(fields ?? {})) entry[key] = serializeError(value);
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => make({ ...base, ...fields }),
  };
};

export const logger: Logger = make({ service: 'autotask-governor' });

/** For the local stack and tests: silence or capture logs. */
export const configureLogging = (options: {
  level?: Level | 'silent';
  sink?: (line: string) => void;
}): void => {
  if (options.level) threshold = options.level === 'silent' ? Number.POSITIVE_INFINITY : order[options.level];
  if (options.sink) sink = options.sink;
};
