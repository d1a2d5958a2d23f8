import type { NudgeProgress, StoredDeadline } from '../platform/deadlines/store';
import { formatDay, formatDayTime, formatTime, londonDate, londonToInstant } from '../platform/time';
import type { Holiday, Policy, SnoozeOption } from './model';

/**
 * The nudge rules, pure: school days and hours (Europe/London), holidays, the ladder of nudges before a
 * deadline, the one escalation when overdue, snoozing and muting. Every rule takes `now` and data and
 * returns a decision; the scheduler (service.ts) claims, commits each day's message with its record
 * through the outbox, and stores.
 */

export type NudgeItem = Pick<StoredDeadline, 'who' | 'dueAt' | 'kind' | 'essential' | 'registeredAt' | 'progress' | 'status'>;

// ------------------------------------------------------------------------------------------------
// The calendar: London days as YYYY-MM-DD

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! + days)).toISOString().slice(0, 10);
}

/** ISO weekday: 1 = Monday … 7 = Sunday. */
export function weekday(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  const w = new Date(Date.UTC(y!, m! - 1, d!)).getUTCDay();
  return w === 0 ? 7 : w;
}

export function holidayOn(date: string, policy: Policy): Holiday | undefined {
  return policy.holidays.find((h) => h.from <= date && date <= h.to);
}

export function isSchoolDay(date: string, policy: Policy): boolean {
  return policy.days.includes(weekday(date)) && !holidayOn(date, policy);
}

/** How far to look for a school day (longer than any break; a policy with none gives up). */
const SEARCH_DAYS = 800;

export function schoolDayOnOrAfter(date: string, policy: Policy): string | undefined {
  let day = date;
  for (let i = 0; i < SEARCH_DAYS; i += 1, day = addDays(day, 1)) if (isSchoolDay(day, policy)) return day;
  return undefined;
}

export function schoolDayOnOrBefore(date: string, policy: Policy): string | undefined {
  let day = date;
  for (let i = 0; i < SEARCH_DAYS; i += 1, day = addDays(day, -1)) if (isSchoolDay(day, policy)) return day;
  return undefined;
}

/** The instant school starts on a London day. */
export function dayStart(date: string, policy: Policy): Date {
  return londonToInstant(date, policy.start)!;
}

export function dayEnd(date: string, policy: Policy): Date {
  return londonToInstant(date, policy.end)!;
}

export function inSchoolHours(at: Date, policy: Policy): boolean {
  const day = londonDate(at);
  return isSchoolDay(day, policy) && at >= dayStart(day, policy) && at < dayEnd(day, policy);
}

/** `at` itself when it is in school hours, else the start of the next school day (undefined: none within reach). */
export function nextSendable(at: Date, policy: Policy): Date | undefined {
  if (inSchoolHours(at, policy)) return at;
  const day = londonDate(at);
  if (isSchoolDay(day, policy) && at < dayStart(day, policy)) return dayStart(day, policy);
  const next = schoolDayOnOrAfter(addDays(day, 1), policy);
  return next ? dayStart(next, policy) : undefined;
}

/** The start of the school day after `now`'s day (where a nudge held back for today goes). */
export function nextSchoolDayStart(now: Date, policy: Policy): Date | undefined {
  const next = schoolDayOnOrAfter(addDays(londonDate(now), 1), policy);
  return next ? dayStart(next, policy) : undefined;
}

// ------------------------------------------------------------------------------------------------
// When to nudge

/**
 * The ladder's nudges for a deadline: for each rung, the start of school on that many days before the
 * due day, moved back to the school day before when it falls on a weekend or holiday (a reminder
 * should come before the break, not after it) or when school would start only after the deadline.
 * Rungs that land on the same day are one nudge.
 */
export function rungTimes(item: Pick<NudgeItem, 'dueAt'>, policy: Policy): Date[] {
  const dueDay = londonDate(item.dueAt);
  const byDay = new Map<string, Date>();
  for (const before of policy.ladder) {
    let day = schoolDayOnOrBefore(addDays(dueDay, -before), policy);
    while (day && dayStart(day, policy) >= item.dueAt) day = schoolDayOnOrBefore(addDays(day, -1), policy);
    if (day) byDay.set(day, dayStart(day, policy));
  }
  return [...byDay.values()].sort((a, b) => a.getTime() - b.getTime());
}

/** An event reminder goes at the start of the last school day before the event's day. */
export function reminderTime(item: Pick<NudgeItem, 'dueAt'>, policy: Policy): Date | undefined {
  const day = schoolDayOnOrBefore(addDays(londonDate(item.dueAt), -1), policy);
  return day ? dayStart(day, policy) : undefined;
}

export type Decision =
  /** Nudge the people who must act now; `round` names this nudge (its planned time), so a round can be finished on a later day. */
  | { readonly kind: 'nudge'; readonly round: string }
  /** Tell the coordinators it is overdue (once). */
  | { readonly kind: 'escalate'; readonly round: string }
  /** Nothing to send yet: look again at `until`. */
  | { readonly kind: 'wait'; readonly until: Date }
  /** Nothing more will ever be sent for it (done, muted, reminded, escalated). */
  | { readonly kind: 'idle' };

const IDLE: Decision = { kind: 'idle' };

function later(a: string, b: string | undefined): string {
  return b && b > a ? b : a;
}

/** Sends now if it is school hours, else waits for the next moment that is. */
function nowOrNextSendable(now: Date, policy: Policy, send: Decision): Decision {
  if (inSchoolHours(now, policy)) return send;
  const next = nextSendable(now, policy);
  return next ? { kind: 'wait', until: next } : IDLE;
}

export function isMutedBy(item: Pick<NudgeItem, 'progress'>, aadObjectId: string): boolean {
  return (item.progress.muted ?? []).includes(aadObjectId.toLowerCase());
}

/**
 * What to do about an item at `now`. Never on the day it was registered (the person has just been asked)
 * and never twice on one day; a nudge missed (the bot was down, it was 21:00, a holiday) goes at the next
 * school-hours moment, and several missed rungs make one nudge.
 */
export function decide(item: NudgeItem, policy: Policy, now: Date): Decision {
  if (item.status !== 'open') return IDLE;
  const p = item.progress;
  if (item.who.kind === 'person' && isMutedBy(item, item.who.aadObjectId)) return IDLE;
  const touched = later(londonDate(item.registeredAt), p.lastNudgeDay);

  if (item.kind === 'reminder') {
    if (p.lastNudgeDay) return IDLE;
    const dueDay = londonDate(item.dueAt);
    const at = reminderTime(item, policy);
    if (!at || londonDate(at) <= touched || londonDate(now) >= dueDay) return IDLE;
    if (at > now) return { kind: 'wait', until: at };
    if (inSchoolHours(now, policy)) return { kind: 'nudge', round: at.toISOString() };
    const next = nextSendable(now, policy);
    return next && londonDate(next) < dueDay ? { kind: 'wait', until: next } : IDLE;
  }

  if (now >= item.dueAt) {
    if (p.escalated) return IDLE;
    return nowOrNextSendable(now, policy, { kind: 'escalate', round: item.dueAt.toISOString() });
  }
  let candidates = rungTimes(item, policy).filter((r) => londonDate(r) > touched);
  if (p.snoozedUntil) {
    const until = new Date(p.snoozedUntil);
    candidates = [...(until < item.dueAt ? [until] : []), ...candidates.filter((r) => r > until)];
  }
  const passed = candidates.filter((c) => c <= now);
  if (passed.length > 0) {
    const latest = passed.reduce((a, b) => (a > b ? a : b));
    return nowOrNextSendable(now, policy, { kind: 'nudge', round: latest.toISOString() });
  }
  if (candidates.length > 0) return { kind: 'wait', until: candidates.reduce((a, b) => (a < b ? a : b)) };
  const escalation = nextSendable(item.dueAt, policy);
  return escalation ? { kind: 'wait', until: escalation } : IDLE;
}

/** When the scheduler should next look at an item after a decision. */
export function nextLook(decision: Decision, now: Date): Date | undefined {
  switch (decision.kind) {
    case 'wait':
      return decision.until;
    case 'idle':
      return undefined;
    default:
      return now;
  }
}

/** The people in `recipients` still to get this round (a round finished by some on an earlier day). */
export function stillToNudge<T extends { aadObjectId: string }>(progress: NudgeProgress, decision: Decision, recipients: readonly T[]): T[] {
  if (decision.kind !== 'nudge' && decision.kind !== 'escalate') return [];
  const done = new Set(progress.round && progress.round.at === decision.round ? progress.round.done : []);
  const muted = new Set(decision.kind === 'nudge' ? (progress.muted ?? []) : []);
  return recipients.filter((r) => !done.has(r.aadObjectId) && !muted.has(r.aadObjectId));
}

/** Progress after a round reached everyone it was for. */
export function afterRound(progress: NudgeProgress, decision: Decision, now: Date): NudgeProgress {
  const { round: _round, snoozedUntil, ...rest } = progress;
  const out: { -readonly [K in keyof NudgeProgress]: NudgeProgress[K] } = { ...rest, lastNudgeDay: londonDate(now) };
  if (snoozedUntil && new Date(snoozedUntil) > now) out.snoozedUntil = snoozedUntil;
  if (decision.kind === 'escalate') out.escalated = true;
  return out;
}

/** Progress after a round reached only some: who has had it, so they are not nudged again for it. */
export function partRound(progress: NudgeProgress, decision: Decision, done: readonly string[]): NudgeProgress {
  if (decision.kind !== 'nudge' && decision.kind !== 'escalate') return progress;
  const before = progress.round && progress.round.at === decision.round ? progress.round.done : [];
  return { ...progress, round: { at: decision.round, done: [...new Set([...before, ...done])] } };
}

/** An item owed to a person this round, as the day's message sees it. */
export interface Owed {
  /** 'n:<id>' for a nudge, 'e:<id>' for an escalation: what the person's day row records. */
  readonly tag: string;
  readonly kind: 'nudge' | 'escalate';
  readonly dueAt: Date;
}

/** What one person gets from a round. */
export interface DayMessage<T extends Owed> {
  /** The message owed to them now (none when today's has gone already, or they cannot be reached). */
  readonly digest?: { readonly nudges: readonly T[]; readonly escalations: readonly T[] };
  /** What reached them today: in this message, or in the one they had earlier today. */
  readonly sent: readonly T[];
  /** What waits for another day. */
  readonly heldBack: readonly T[];
}

/**
 * At most one message a person a day. When today's has gone (`today`: what it carried), those items
 * count as theirs and the rest wait; otherwise one message with the most urgent (soonest due) nudges
 * and escalations up to the limits, the rest another day. Someone who cannot be reached gets nothing
 * today and keeps everything for another day.
 */
export function dayMessage<T extends Owed>(owed: readonly T[], today: readonly string[] | undefined, reachable: boolean, limits: { readonly nudges: number; readonly escalations: number }): DayMessage<T> {
  if (today) return { sent: owed.filter((o) => today.includes(o.tag)), heldBack: owed.filter((o) => !today.includes(o.tag)) };
  if (!reachable) return { sent: [], heldBack: [...owed] };
  const soonest = (kind: Owed['kind'], limit: number) =>
    owed
      .filter((o) => o.kind === kind)
      .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())
      .slice(0, limit);
  const nudges = soonest('nudge', limits.nudges);
  const escalations = soonest('escalate', limits.escalations);
  if (nudges.length + escalations.length === 0) return { sent: [], heldBack: [] };
  const carried = new Set<T>([...nudges, ...escalations]);
  return { digest: { nudges, escalations }, sent: [...carried], heldBack: owed.filter((o) => !carried.has(o)) };
}

// ------------------------------------------------------------------------------------------------
// Snooze and stop

export interface SnoozeChoices {
  /** "Snooze 1 day": the same time tomorrow, or the next school-hours moment after it. */
  readonly day?: Date;
  /** "Snooze until the day before": the start of the school day before the due day. */
  readonly dayBefore?: Date;
}

export function snoozeChoices(item: NudgeItem, policy: Policy, now: Date): SnoozeChoices {
  if (item.status !== 'open' || item.kind === 'reminder' || now >= item.dueAt) return {};
  const today = londonDate(now);
  const dayLater = nextSendable(new Date(now.getTime() + 86_400_000), policy);
  const day = dayLater && dayLater < item.dueAt && londonDate(dayLater) > today ? dayLater : undefined;
  const beforeDay = schoolDayOnOrBefore(addDays(londonDate(item.dueAt), -1), policy);
  const before = beforeDay ? dayStart(beforeDay, policy) : undefined;
  const dayBefore = before && before < item.dueAt && londonDate(before) > londonDate(day ?? now) ? before : undefined;
  return { day, dayBefore };
}

export type Refusable<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly message: string };

function closedMessage(item: NudgeItem, doing: string): string | undefined {
  if (item.status === 'completed') return `That's already done, so there's nothing to ${doing}.`;
  if (item.status === 'cancelled') return `That's no longer needed (it was withdrawn), so there's nothing to ${doing}.`;
  return undefined;
}

export function snooze(item: NudgeItem, option: SnoozeOption, policy: Policy, now: Date): Refusable<{ progress: NudgeProgress; until: Date }> {
  const closed = closedMessage(item, 'snooze');
  if (closed) return { ok: false, message: closed };
  if (item.kind === 'reminder') return { ok: false, message: 'Event reminders cannot be snoozed.' };
  if (now >= item.dueAt) return { ok: false, message: 'That is already past its deadline, so it cannot be snoozed.' };
  const choices = snoozeChoices(item, policy, now);
  const until = option === 'day' ? choices.day : choices.dayBefore;
  if (!until) {
    return { ok: false, message: option === 'day' ? `It's due ${dueText(item.dueAt, now)}, too soon to snooze it for a day.` : `It's due ${dueText(item.dueAt, now)}, too soon to snooze it until the day before.` };
  }
  const { round: _round, ...rest } = item.progress;
  return { ok: true, progress: { ...rest, snoozedUntil: until.toISOString() }, until };
}

export function stopReminding(item: NudgeItem, aadObjectId: string): Refusable<{ progress: NudgeProgress }> {
  const closed = closedMessage(item, 'stop');
  if (closed) return { ok: false, message: closed };
  if (item.essential) return { ok: false, message: 'Reminders about this cannot be switched off: others are waiting on it. You can snooze it instead.' };
  const aad = aadObjectId.toLowerCase();
  const muted = item.progress.muted ?? [];
  return { ok: true, progress: muted.includes(aad) ? item.progress : { ...item.progress, muted: [...muted, aad] } };
}

/** Whether this person is one of those who must act on the item (the person named, or a rep of the school). */
export function mustAct(item: Pick<NudgeItem, 'who'>, person: { aadObjectId: string; isRep: boolean; schoolId?: string }): boolean {
  if (item.who.kind === 'person') return item.who.aadObjectId.toLowerCase() === person.aadObjectId.toLowerCase();
  return person.isRep && person.schoolId === item.who.schoolId;
}

// ------------------------------------------------------------------------------------------------
// Words and order

/** "Fri 4 Dec, 17:00"; a deadline at midnight or 23:59 reads as the end of that day: "Fri 4 Dec". */
export function dueText(dueAt: Date, now: Date): string {
  const time = formatTime(dueAt);
  if (time === '00:00') return formatDay(new Date(dueAt.getTime() - 60_000), now);
  if (time === '23:59') return formatDay(dueAt, now);
  return formatDayTime(dueAt, now);
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** The line a nudge leads with: "Approve 'STEM Week' for Oakfield by Fri 4 Dec, 17:00". */
export function headline(item: Pick<NudgeItem, 'dueAt' | 'kind'> & { what: string }, now: Date): string {
  if (item.kind === 'reminder') {
    const days = daysBetween(londonDate(now), londonDate(item.dueAt));
    return `${item.what} ${days === 0 ? 'today' : days === 1 ? 'tomorrow' : `on ${formatDay(item.dueAt, now)}`}`;
  }
  return `${item.what} by ${dueText(item.dueAt, now)}`;
}

/** "Due today", "Due tomorrow", "Due in 3 days", "Overdue". */
export function urgency(item: Pick<NudgeItem, 'dueAt' | 'kind'>, now: Date): string {
  if (item.kind === 'reminder') return formatDayTime(item.dueAt, now);
  if (now >= item.dueAt) return 'Overdue';
  const days = daysBetween(londonDate(now), londonDate(item.dueAt));
  return days <= 0 ? 'Due today' : days === 1 ? 'Due tomorrow' : `Due in ${days} days`;
}

/** Most urgent first: soonest due, then by what it says. */
export function byUrgency<T extends { dueAt: Date; what: string }>(a: T, b: T): number {
  return a.dueAt.getTime() - b.dueAt.getTime() || a.what.localeCompare(b.what, 'en-GB');
}

// ------------------------------------------------------------------------------------------------
// What coordinators type

const MONTHS = new Map<string, number>();
['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'].forEach((name, i) => {
  MONTHS.set(name, i + 1);
  MONTHS.set(name.slice(0, 3), i + 1);
});
MONTHS.set('sept', 9);
const DATE = String.raw`(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?(?:\s+\d{4})?)`;
const RANGE = new RegExp(String.raw`^${DATE}(?:\s*(?:-|–|—|to|until)\s*${DATE})?(?:\s+(.+))?$`, 'i');

interface DateParts {
  readonly day: number;
  readonly month: number;
  readonly year?: number;
}

function dateParts(text: string): DateParts | undefined {
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m) return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
  if (m) return { day: Number(m[1]), month: Number(m[2]), year: Number(m[3]) };
  m = /^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?(?:\s+(\d{4}))?$/i.exec(text);
  if (!m) return undefined;
  const month = MONTHS.get(m[2]!.toLowerCase());
  if (!month) return undefined;
  return { day: Number(m[1]), month, year: m[3] ? Number(m[3]) : undefined };
}

function isoOf(p: Required<DateParts>): string | undefined {
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day));
  if (d.getUTCFullYear() !== p.year || d.getUTCMonth() !== p.month - 1 || d.getUTCDate() !== p.day) return undefined;
  return d.toISOString().slice(0, 10);
}

const HOLIDAY_HELP = 'Type a day or a range, then a name if you like, e.g. `holidays add 19 Dec 2026 - 4 Jan 2027 Christmas` or `holidays add 13 Feb 2027 INSET day`.';

/**
 * "19 Dec 2026 - 4 Jan 2027 Christmas", "19 Dec - 4 Jan", "13 Feb 2027 INSET day", "2027-02-13".
 * A missing year is the one that makes the range read naturally (the next such dates when none is given).
 */
export function parseHoliday(text: string, now: Date): Refusable<{ holiday: Holiday }> {
  const m = RANGE.exec(text.trim());
  if (!m) return { ok: false, message: `I couldn't read the dates in "${text.slice(0, 60)}". ${HOLIDAY_HELP}` };
  const a = dateParts(m[1]!);
  const b = m[2] ? dateParts(m[2]) : a;
  if (!a || !b) return { ok: false, message: `I couldn't read the dates in "${text.slice(0, 60)}". ${HOLIDAY_HELP}` };
  const label = (m[3] ?? '').trim().slice(0, 60);
  const thisYear = Number(londonDate(now).slice(0, 4));
  let from: Required<DateParts>;
  let to: Required<DateParts>;
  const before = (x: DateParts, y: DateParts) => x.month < y.month || (x.month === y.month && x.day < y.day);
  if (a.year !== undefined && b.year !== undefined) {
    from = { ...a, year: a.year };
    to = { ...b, year: b.year };
  } else if (a.year !== undefined) {
    from = { ...a, year: a.year };
    to = { ...b, year: before(b, from) ? a.year + 1 : a.year };
  } else if (b.year !== undefined) {
    to = { ...b, year: b.year };
    from = { ...a, year: before(to, a) ? b.year - 1 : b.year };
  } else {
    from = { ...a, year: thisYear };
    to = { ...b, year: before(b, a) ? thisYear + 1 : thisYear };
    const toIso = isoOf(to);
    if (toIso && toIso < londonDate(now)) {
      from = { ...from, year: from.year + 1 };
      to = { ...to, year: to.year + 1 };
    }
  }
  const fromIso = isoOf(from);
  const toIso = isoOf(to);
  if (!fromIso || !toIso) return { ok: false, message: `One of those dates does not exist. ${HOLIDAY_HELP}` };
  if (toIso < fromIso) return { ok: false, message: 'The break ends before it starts: put the first day first.' };
  if (daysBetween(fromIso, toIso) > 366) return { ok: false, message: 'A break can be at most a year long.' };
  return { ok: true, holiday: { from: fromIso, to: toIso, label } };
}

/** A single day, as `holidays remove` takes it. */
export function parseDay(text: string, now: Date): string | undefined {
  const parsed = parseHoliday(text, now);
  return parsed.ok && parsed.holiday.from === parsed.holiday.to && !parsed.holiday.label ? parsed.holiday.from : undefined;
}

export function addHoliday(policy: Policy, holiday: Holiday): Policy {
  const holidays = [...policy.holidays.filter((h) => !(h.from === holiday.from && h.to === holiday.to)), holiday].sort((x, y) => x.from.localeCompare(y.from));
  return { ...policy, holidays };
}

/** Removes every break that includes `day`; returns what was removed. */
export function removeHolidays(policy: Policy, day: string): { policy: Policy; removed: Holiday[] } {
  const removed = policy.holidays.filter((h) => h.from <= day && day <= h.to);
  return { policy: { ...policy, holidays: policy.holidays.filter((h) => !removed.includes(h)) }, removed };
}

/** "Sat 19 Dec 2026 – Mon 4 Jan 2027 (Christmas)". */
export function holidayText(h: Holiday, now?: Date): string {
  const day = (d: string) => formatDay(londonToInstant(d, '12:00')!, now);
  const span = h.from === h.to ? day(h.from) : `${day(h.from)} – ${day(h.to)}`;
  return h.label ? `${span} (${h.label})` : span;
}

export function parseHours(text: string): Refusable<{ start: string; end: string }> {
  const m = /^(\d{1,2})(?::(\d{2}))?\s*(?:-|–|—|to)\s*(\d{1,2})(?::(\d{2}))?$/.exec(text.trim());
  const usage = 'Type the hours as `nudges hours 08:00-17:00` (24-hour clock, Europe/London).';
  if (!m) return { ok: false, message: usage };
  const [sh, sm, eh, em] = [Number(m[1]), Number(m[2] ?? 0), Number(m[3]), Number(m[4] ?? 0)];
  if (sh > 23 || eh > 23 || sm > 59 || em > 59) return { ok: false, message: usage };
  const start = sh * 60 + sm;
  const end = eh * 60 + em;
  if (end - start < 60) return { ok: false, message: 'School hours must start before they end, at least an hour apart.' };
  const hhmm = (h: number, mi: number) => `${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}`;
  return { ok: true, start: hhmm(sh, sm), end: hhmm(eh, em) };
}

export function parseLadder(text: string): Refusable<{ ladder: number[] }> {
  const parts = text.split(/[\s,]+/).filter((p) => p.length > 0);
  const usage = 'Type the days before a deadline to nudge, e.g. `nudges ladder 7 2 0` (0 = on the day); up to 5 numbers from 0 to 60.';
  if (parts.length === 0 || parts.length > 5 || !parts.every((p) => /^\d{1,2}$/.test(p))) return { ok: false, message: usage };
  const ladder = [...new Set(parts.map(Number))].sort((a, b) => b - a);
  if (ladder.some((d) => d > 60)) return { ok: false, message: usage };
  return { ok: true, ladder };
}

function ladderText(ladder: readonly number[]): string {
  const words = ladder.map((d) => (d === 0 ? 'on the day' : d === 1 ? '1 day before' : `${d} days before`));
  return words.length <= 1 ? (words[0] ?? 'never') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function describePolicy(policy: Policy, now: Date): string[] {
  const days = policy.days.length === 5 && [1, 2, 3, 4, 5].every((d) => policy.days.includes(d)) ? 'Mon–Fri' : policy.days.map((d) => DAY_NAMES[d - 1]).join(', ');
  const coming = policy.holidays.filter((h) => h.to >= londonDate(now));
  return [
    `Nudges go out ${days}, ${policy.start}–${policy.end} (Europe/London), at most one message a day to each person.`,
    `Before a deadline: ${ladderText(policy.ladder)}. When overdue, the coordinators are told once.`,
    coming.length === 0 ? 'No holidays coming up.' : `Not on ${coming.length === 1 ? 'this holiday' : `these ${coming.length} holidays`}: ${coming.map((h) => holidayText(h, now)).join('; ')}.`,
  ];
}
