/** Dates as people read them: Europe/London wall time, British style ("Thu 4 Dec, 16:00"). Pure. */

export const ZONE = 'Europe/London';

const parts = new Intl.DateTimeFormat('en-GB', {
  timeZone: ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

const HOUR_MS = 3_600_000;
/** London's offset from UTC (ms) for each UTC hour asked about; the clocks only change on the hour (01:00 UTC). */
const offsets = new Map<number, number>();

function londonOffsetMs(ms: number): number {
  const hour = Math.floor(ms / HOUR_MS);
  let offset = offsets.get(hour);
  if (offset === undefined) {
    const start = new Date(hour * HOUR_MS);
    const all = parts.formatToParts(start);
    const get = (type: string) => Number(all.find((p) => p.type === type)?.value);
    offset = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - start.getTime();
    if (offsets.size >= 10_000) offsets.clear();
    offsets.set(hour, offset);
  }
  return offset;
}

/** The London wall-clock fields of an instant. */
export function londonFields(at: Date): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const ms = at.getTime();
  if (Number.isNaN(ms)) throw new RangeError('Invalid time value');
  const wall = new Date(ms + londonOffsetMs(ms));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate(), hour: wall.getUTCHours(), minute: wall.getUTCMinutes(), second: wall.getUTCSeconds() };
}

/**
 * The instant at which London's clocks show `date` (YYYY-MM-DD) `time` (HH:mm). In the autumn hour
 * that happens twice the earlier is taken; in the spring gap the time is moved forward an hour.
 */
export function londonToInstant(date: string, time: string): Date | undefined {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})(?::\d{2})?$/.exec(time);
  if (!d || !t) return undefined;
  const [y, mo, da, h, mi] = [Number(d[1]), Number(d[2]), Number(d[3]), Number(t[1]), Number(t[2])];
  if (mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59) return undefined;
  const asUtc = Date.UTC(y, mo - 1, da, h, mi);
  const check = new Date(asUtc);
  if (check.getUTCDate() !== da || check.getUTCMonth() !== mo - 1) return undefined; // 31 Feb and the like
  for (const offsetHours of [1, 0]) {
    const candidate = new Date(asUtc - offsetHours * 3_600_000);
    const f = londonFields(candidate);
    if (f.year === y && f.month === mo && f.day === da && f.hour === h && f.minute === mi) return candidate;
  }
  return new Date(asUtc); // spring-forward gap: 01:30 does not exist, read it as 01:30 GMT (02:30 BST)
}

const dayFormat = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, weekday: 'short', day: 'numeric', month: 'short' });
const dayYearFormat = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
const timeFormat = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/**
 * What each instant read as, once formatted: a card shows the same few instants to everyone (a rush
 * draws its TeachMeet's times hundreds of times a second), and Intl's formatting is the slow part.
 */
const formatted = new Map<string, string>();

function once(key: string, make: () => string): string {
  let text = formatted.get(key);
  if (text === undefined) {
    text = make();
    if (formatted.size >= 10_000) formatted.clear();
    formatted.set(key, text);
  }
  return text;
}

/** "Thu 4 Dec" (with the year when it is not the year of `now`). */
export function formatDay(at: Date, now?: Date): string {
  const sameYear = !now || londonFields(at).year === londonFields(now).year;
  return once(`${sameYear ? 'd' : 'dy'}${at.getTime()}`, () => (sameYear ? dayFormat : dayYearFormat).format(at).replace(/,/g, ''));
}

/** "16:00" */
export function formatTime(at: Date): string {
  return once(`t${at.getTime()}`, () => timeFormat.format(at));
}

/** "Thu 4 Dec, 16:00" */
export function formatDayTime(at: Date, now?: Date): string {
  return `${formatDay(at, now)}, ${formatTime(at)}`;
}

/** London date as YYYY-MM-DD, as an Input.Date holds it. */
export function londonDate(at: Date): string {
  const f = londonFields(at);
  return `${f.year}-${String(f.month).padStart(2, '0')}-${String(f.day).padStart(2, '0')}`;
}

/** London time as HH:mm, as an Input.Time holds it. */
export function londonTime(at: Date): string {
  return formatTime(at);
}
