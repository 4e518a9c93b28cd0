import { ConfigError } from '#shared/errors.ts';

/** Reads a required environment variable once, failing fast with a message that names it. */
export const requireEnv = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`environment variable ${name} is required but not set`);
  }
  return value;
};

export const optionalEnv = (name: string, fallback: string): string => {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? fallback : value;
};

export const numberEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value))
    throw new ConfigError(`environment variable ${name} must be a number, got "${raw}"`);
  return value;
};
