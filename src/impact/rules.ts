import { londonDate, londonToInstant } from '../platform/time';
import { TERM_NAMES, type DateText, type Period, type Term, type TermName, type TermOverrides } from './model';

/**
 * The school terms and report periods, pure: no storage, no clock (`now` is passed in).
 *
 * Default terms (until a coordinator sets them), for the academic year starting in September Y:
 * - autumn Y: 1 Sep – 31 Dec;
 * - spring Y+1: 1 Jan – Easter Sunday;
 * - summer Y+1: Easter Monday – 31 Aug.
 * They run into one another, so every day of the year (holidays too) belongs to exactly one term and an
 * academic year is the sum of its three terms. English schools' published dates differ by a few days
 * (spring often ends a week before Easter); coordinators set theirs with `term set`.
 */

export type Refusable<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly message: string };

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export function termKey(name: TermName, year: number): string {
  return `${name} ${year}`;
}

/** 'YYYY-MM-DD' plus `days` (calendar arithmetic, no time zone involved). */
export function addDays(date: DateText, days: number): DateText {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

const iso = (y: number, m: number, d: number) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

/** Easter Sunday of a year (the Gregorian computus). */
export function easterSunday(year: number): DateText {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return iso(year, month, day);
}

/** The default dates of a term (see the top of this file). */
export function defaultTerm(name: TermName, year: number): { from: DateText; to: DateText } {
  switch (name) {
    case 'autumn':
      return { from: iso(year, 9, 1), to: iso(year, 12, 31) };
    case 'spring':
      return { from: iso(year, 1, 1), to: easterSunday(year) };
    case 'summer':
      return { from: addDays(easterSunday(year), 1), to: iso(year, 8, 31) };
  }
}

export function term(name: TermName, year: number, overrides: TermOverrides): Term {
  const set = overrides[termKey(name, year)];
  return set ? { name, year, from: set.from, to: set.to, custom: true } : { name, year, ...defaultTerm(name, year), custom: false };
}

/** The three terms of the academic year that starts in September `startYear`. */
export function academicYearTerms(startYear: number, overrides: TermOverrides): [Term, Term, Term] {
  return [term('autumn', startYear, overrides), term('spring', startYear + 1, overrides), term('summer', startYear + 1, overrides)];
}

/** The academic year a term belongs to (its September's year). */
export function academicYearOf(name: TermName, year: number): number {
  return name === 'autumn' ? year : year - 1;
}

/** The term a day is in; on a day between two set terms (a holiday), the term that ended last. */
export function termOn(date: DateText, overrides: TermOverrides): Term {
  const year = Number(date.slice(0, 4));
  const candidates = [year - 2, year - 1, year].flatMap((y) => academicYearTerms(y, overrides));
  const inside = candidates.find((t) => t.from <= date && date <= t.to);
  if (inside) return inside;
  const begun = candidates.filter((t) => t.from <= date).sort((a, b) => (a.from < b.from ? 1 : -1));
  return begun[0] ?? candidates[0]!;
}

/** The term before `t`. */
export function termBefore(t: Term, overrides: TermOverrides): Term {
  if (t.name === 'autumn') return term('summer', t.year, overrides);
  if (t.name === 'spring') return term('autumn', t.year - 1, overrides);
  return term('spring', t.year, overrides);
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function termLabel(t: Pick<Term, 'name' | 'year'>): string {
  return `${capital(t.name)} term ${t.year}`;
}

export function yearLabel(startYear: number): string {
  return `${startYear}/${String((startYear + 1) % 100).padStart(2, '0')}`;
}

/** "4 Jan 2027" */
export function dateText(date: DateText): string {
  const [y, m, d] = date.split('-').map(Number);
  return `${d} ${capital(MONTHS[m! - 1]!)} ${y}`;
}

export function termPeriod(t: Term): Period {
  return { label: termLabel(t), from: t.from, to: t.to };
}

export function yearPeriod(startYear: number, overrides: TermOverrides): Period {
  const [autumn, , summer] = academicYearTerms(startYear, overrides);
  return { label: `Academic year ${yearLabel(startYear)}`, from: autumn.from, to: summer.to };
}

/**
 * The terms a report's trend shows: every term of the academic years the period falls in that has
 * started by `today` (at most three years' worth).
 */
export function trendTerms(p: Pick<Period, 'from' | 'to'>, overrides: TermOverrides, today: DateText): Term[] {
  const first = termOn(p.from, overrides);
  const last = termOn(p.to, overrides);
  const fromYear = academicYearOf(first.name, first.year);
  const toYear = Math.min(academicYearOf(last.name, last.year), fromYear + 2);
  const out: Term[] = [];
  for (let y = fromYear; y <= toYear; y += 1) out.push(...academicYearTerms(y, overrides).filter((t) => t.from <= today));
  return out;
}

/** A period's first instant and the instant after its last day (London midnights). */
export function periodInstants(p: Pick<Period, 'from' | 'to'>): { start: Date; end: Date } {
  return { start: londonToInstant(p.from, '00:00')!, end: londonToInstant(addDays(p.to, 1), '00:00')! };
}

/** Whether an instant falls on a day of the period (London). */
export function inPeriod(at: Date, p: Pick<Period, 'from' | 'to'>): boolean {
  return dayInPeriod(londonDate(at), p);
}

export function dayInPeriod(day: DateText, p: Pick<Period, 'from' | 'to'>): boolean {
  return p.from <= day && day <= p.to;
}

/** "1 Sep 2026 – 31 Dec 2026" */
export function spanText(p: Pick<Period, 'from' | 'to'>): string {
  return `${dateText(p.from)} – ${dateText(p.to)}`;
}

// ---------------------------------------------------------------------------------------------
// Reading what people type

/** A date as typed: '4 Jan 2027', '4 January 2027' or '2027-01-04'; undefined when it is not a real date. */
export function parseDate(text: string): DateText | undefined {
  const t = text.trim().toLowerCase().replace(/,/g, '');
  let y: number;
  let m: number;
  let d: number;
  const isoMatch = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  const words = /^(?:[a-z]{3,9}\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3,9})\s+(\d{4})$/.exec(t);
  if (isoMatch) {
    [y, m, d] = [Number(isoMatch[1]), Number(isoMatch[2]), Number(isoMatch[3])];
  } else if (words) {
    const month = MONTHS.findIndex((name, i) => words[2] === name || words[2] === MONTH_NAMES[i]!.toLowerCase() || (name === 'sep' && words[2] === 'sept'));
    if (month < 0) return undefined;
    [y, m, d] = [Number(words[3]), month + 1, Number(words[1])];
  } else {
    return undefined;
  }
  const date = iso(y, m, d);
  const check = new Date(`${date}T12:00:00Z`);
  if (Number.isNaN(check.getTime()) || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d || y < 2000 || y > 2100) return undefined;
  return date;
}

/** '4 Jan 2027 - 31 Mar 2027' (or with 'to', '–'); a refusal saying what is wrong. */
export function parseRange(text: string, usage: string): Refusable<{ from: DateText; to: DateText }> {
  const parts = text.split(/\s+(?:-|–|—|to)\s+/i);
  if (parts.length !== 2) return { ok: false, message: `I couldn't read a date range in "${text.slice(0, 80)}". ${usage}` };
  const from = parseDate(parts[0]!);
  const to = parseDate(parts[1]!);
  if (!from || !to) return { ok: false, message: `I couldn't read "${(from ? parts[1]! : parts[0]!).slice(0, 40)}" as a date: write it like 4 Jan 2027. ${usage}` };
  if (from > to) return { ok: false, message: `That range runs backwards: ${dateText(from)} is after ${dateText(to)}. Put the earlier date first.` };
  return { ok: true, from, to };
}

export const PERIOD_USAGE = 'Choose a term (`spring 2027`, `this term`, `last term`), an academic year (`2026/27`) or dates (`1 Sep 2026 - 31 Oct 2026`).';
export const TERM_SET_USAGE = 'Type it as `term set spring 2027 4 Jan 2027 - 26 Mar 2027`.';

/** The period a report covers: this term when nothing is typed. */
export function parsePeriod(text: string, now: Date, overrides: TermOverrides): Refusable<{ period: Period }> {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const today = londonDate(now);
  if (t === '' || t === 'this term') return { ok: true, period: termPeriod(termOn(today, overrides)) };
  if (t === 'last term') return { ok: true, period: termPeriod(termBefore(termOn(today, overrides), overrides)) };
  const named = /^([a-z]+)(?: term)?(?: (\d{4}))?$/.exec(t);
  if (named && !/^\d/.test(t)) {
    const name = named[1] as TermName;
    if (!TERM_NAMES.includes(name)) return { ok: false, message: `I don't know a term called "${named[1]!.slice(0, 20)}": terms are autumn, spring and summer. ${PERIOD_USAGE}` };
    let year: number;
    if (named[2]) year = Number(named[2]);
    else {
      // "spring" alone: that term of the current academic year.
      const current = termOn(today, overrides);
      const startYear = academicYearOf(current.name, current.year);
      year = name === 'autumn' ? startYear : startYear + 1;
    }
    if (year < 2000 || year > 2100) return { ok: false, message: `${year} is not a year I can report on. ${PERIOD_USAGE}` };
    return { ok: true, period: termPeriod(term(name, year, overrides)) };
  }
  const academic = /^(\d{4}) ?[/-] ?(\d{2}|\d{4})$/.exec(t);
  if (academic) {
    const first = Number(academic[1]);
    const second = Number(academic[2]);
    const expected = academic[2]!.length === 2 ? (first + 1) % 100 : first + 1;
    if (second !== expected) return { ok: false, message: `An academic year runs over two years in a row, like 2026/27; "${text.trim().slice(0, 20)}" does not. ${PERIOD_USAGE}` };
    if (first < 2000 || first > 2100) return { ok: false, message: `${first} is not a year I can report on. ${PERIOD_USAGE}` };
    return { ok: true, period: yearPeriod(first, overrides) };
  }
  if (/\s(?:-|–|—|to)\s/.test(t)) {
    const range = parseRange(t, PERIOD_USAGE);
    if (!range.ok) return range;
    if (periodDays(range) > 366 * 5) return { ok: false, message: `That range is over five years long. ${PERIOD_USAGE}` };
    return { ok: true, period: { label: spanText(range), from: range.from, to: range.to } };
  }
  return { ok: false, message: `I couldn't read "${text.trim().slice(0, 60)}" as a period. ${PERIOD_USAGE}` };
}

export function periodDays(p: Pick<Period, 'from' | 'to'>): number {
  return Math.round((Date.parse(`${p.to}T12:00:00Z`) - Date.parse(`${p.from}T12:00:00Z`)) / 86_400_000) + 1;
}

/** The label people know a stored period by (from a signed link): a term's or year's name when it is one. */
export function labelFor(p: Pick<Period, 'from' | 'to'>, overrides: TermOverrides): string {
  const t = termOn(p.from, overrides);
  if (t.from === p.from && t.to === p.to) return termLabel(t);
  const startYear = academicYearOf(t.name, t.year);
  const y = yearPeriod(startYear, overrides);
  if (y.from === p.from && y.to === p.to) return y.label;
  return spanText(p);
}

/**
 * `term set spring 2027 4 Jan 2027 - 26 Mar 2027`: the new overrides, or why not. A term starts in
 * the year it is named for, and the three terms of an academic year keep their order without overlapping.
 */
export function setTerm(text: string, overrides: TermOverrides): Refusable<{ term: Term; overrides: TermOverrides }> {
  const m = /^\s*([a-z]+)(?:\s+term)?\s+(\d{4})\s+(.+)$/i.exec(text);
  if (!m) return { ok: false, message: `I couldn't read that. ${TERM_SET_USAGE}` };
  const name = m[1]!.toLowerCase() as TermName;
  if (!TERM_NAMES.includes(name)) return { ok: false, message: `I don't know a term called "${m[1]!.slice(0, 20)}": terms are autumn, spring and summer. ${TERM_SET_USAGE}` };
  const year = Number(m[2]);
  if (year < 2000 || year > 2100) return { ok: false, message: `${year} is not a year I can set terms for. ${TERM_SET_USAGE}` };
  const range = parseRange(m[3]!, TERM_SET_USAGE);
  if (!range.ok) return range;
  if (Number(range.from.slice(0, 4)) !== year) return { ok: false, message: `The ${name} term ${year} has to start in ${year}; ${dateText(range.from)} is not. ${TERM_SET_USAGE}` };
  if (periodDays(range) > 200) return { ok: false, message: `A term of ${periodDays(range)} days is longer than any school term. ${TERM_SET_USAGE}` };
  const next: TermOverrides = { ...overrides, [termKey(name, year)]: { from: range.from, to: range.to } };
  const terms = academicYearTerms(academicYearOf(name, year), next);
  for (let i = 1; i < terms.length; i += 1) {
    const before = terms[i - 1]!;
    const after = terms[i]!;
    if (before.to >= after.from) {
      return { ok: false, message: `That would overlap: ${termLabel(before)} (${spanText(before)}) and ${termLabel(after)} (${spanText(after)}). Set the other term first, or choose dates that do not overlap.` };
    }
  }
  return { ok: true, term: term(name, year, next), overrides: next };
}

// ---------------------------------------------------------------------------------------------
// Outcome records: asked for once an approved project has ended

/** The lead school records what happened within this many days of the project's last day. */
export const OUTCOME_DAYS = 14;
/** Projects that ended longer ago than this are not asked about any more (they were asked then). */
export const OUTCOME_ASK_WINDOW_DAYS = 60;

/** When the record is due: 17:00 London, OUTCOME_DAYS after the project's last day. */
export function outcomeDueAt(endDate: DateText): Date {
  return londonToInstant(addDays(endDate, OUTCOME_DAYS), '17:00')!;
}

/** The London days whose projects a daily round asks about: those that ended before today, within the window. */
export function outcomeAskWindow(now: Date): { from: DateText; to: DateText } {
  const today = londonDate(now);
  return { from: addDays(today, -OUTCOME_ASK_WINDOW_DAYS), to: addDays(today, -1) };
}

export interface OutcomeInput {
  readonly pupils: string;
  readonly staff: string;
  readonly disadvantaged: string;
  readonly send: string;
  readonly measured: string;
  readonly evidence: string;
  readonly legacy: string;
}

export interface OutcomeValues {
  readonly pupils: number;
  readonly staff: number;
  readonly disadvantaged: number;
  readonly send: number;
  readonly measured: string;
  readonly evidence: string;
  readonly legacy: string;
}

/** Checks what the lead school typed; a refusal says every problem at once. */
export function checkOutcome(input: OutcomeInput): Refusable<{ values: OutcomeValues }> {
  const problems: string[] = [];
  const count = (text: string, what: string): number => {
    const t = text.trim();
    if (!/^\d{1,6}$/.test(t)) {
      problems.push(`${what}: a whole number, 0 or more.`);
      return 0;
    }
    return Number(t);
  };
  const pupils = count(input.pupils, 'Pupils who took part');
  const staff = count(input.staff, 'Staff who took part');
  const disadvantaged = count(input.disadvantaged, 'Disadvantaged pupils');
  const send = count(input.send, 'Pupils with SEND');
  if (disadvantaged > pupils) problems.push(`Disadvantaged pupils (${disadvantaged}) can't be more than the pupils who took part (${pupils}).`);
  if (send > pupils) problems.push(`Pupils with SEND (${send}) can't be more than the pupils who took part (${pupils}).`);
  const measured = input.measured.replace(/\s+/g, ' ').trim();
  if (measured.length < 3) problems.push('What you measured: say how the project did against the outcome it promised.');
  if (measured.length > 500) problems.push('What you measured: 500 characters at most.');
  const evidence = input.evidence.trim();
  if (evidence && !/^https:\/\/[^\s<>"]{3,500}$/i.test(evidence)) problems.push('Evidence: a link starting https://, or leave it empty.');
  const legacy = input.legacy.replace(/\s+/g, ' ').trim();
  if (legacy.length > 300) problems.push('Legacy: 300 characters at most.');
  if (problems.length > 0) return { ok: false, message: `Nothing was recorded yet: ${problems.join(' ')}` };
  return { ok: true, values: { pupils, staff, disadvantaged, send, measured, evidence, legacy } };
}
