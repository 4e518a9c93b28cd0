/**
 * Wall-clock arithmetic in an IANA time zone, with Intl only (no library): the console shows hours
 * and days where the admin is. Formatters are built on first use and kept per zone.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const partsFormat = (timeZone: string) => {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
};

/** An IANA name Intl knows (`UTC`, `Europe/Paris`); anything else is refused. */
export const isTimeZone = (value: string): boolean => {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(value)) return false;
  try {
    partsFormat(value);
    return true;
  } catch {
    return false;
  }
};

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: string;
}

export const wallTime = (ms: number, timeZone: string): WallTime => {
  const parts: Record<string, string> = {};
  for (const p of partsFormat(timeZone).formatToParts(ms)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: parts.weekday ?? '',
  };
};

/** Milliseconds the zone is ahead of UTC at that instant. */
const offsetAt = (ms: number, timeZone: string): number => {
  const w = wallTime(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
};

/** The instant local midnight begins, `daysBack` local days before the day of `ms`. */
export const startOfLocalDay = (ms: number, timeZone: string, daysBack = 0): number => {
  const w = wallTime(ms, timeZone);
  const midnight = Date.UTC(w.year, w.month - 1, w.day - daysBack);
  const guess = midnight - offsetAt(midnight, timeZone);
  // the offset at the guess (not at UTC midnight) is the one that applies across a DST change
  return midnight - offsetAt(guess, timeZone);
};

const pad = (n: number) => String(n).padStart(2, '0');

/** `Tue 12-01 14:05` in the zone. */
export const shortTime = (ms: number, timeZone: string): string => {
  const w = wallTime(ms, timeZone);
  return `${w.weekday} ${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}`;
};

/** `2026-12-01 14:05:09` in the zone. */
export const fullTime = (ms: number, timeZone: string): string => {
  const w = wallTime(ms, timeZone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
};
