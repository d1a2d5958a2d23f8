import { z } from 'zod';
import { PHASES, type DateText, type MatchPolicy, type Phase } from './model';
import { dayNumber, parseSubjects, schoolDaysBetween, todayIn } from './rules';

/**
 * The swap offer form: what the card sends back (every value a string, as Teams sends them) and the
 * checks that decide whether it can be stored. Pure; the problems are keyed by field so the card can
 * show each next to its input, with the values kept.
 */

export const OFFER_FIELDS = ['school', 'sendPhase', 'sendSubject', 'sendCount', 'trainee', 'hostPhase', 'hostSubjects', 'from', 'to', 'confirmBy', 'notes'] as const;
export type OfferField = (typeof OFFER_FIELDS)[number];
export type OfferValues = Record<OfferField, string>;
export type OfferErrors = Partial<Record<OfferField, string>>;

const field = z.string().max(2000).optional().default('');
/** What the card may send: known fields as strings; anything else is dropped. Over-long values fail. */
export const OfferInput = z.object(Object.fromEntries(OFFER_FIELDS.map((f) => [f, field])) as Record<OfferField, typeof field>).strip();

export interface OfferDraft {
  readonly schoolId: string;
  readonly schoolName: string;
  readonly sends: { readonly phase: Phase; readonly subject: string; readonly count: number; readonly trainee: string };
  readonly hosts: { readonly phase: Phase; readonly subjects: readonly string[] };
  readonly from: DateText;
  readonly to: DateText;
  readonly confirmBy: DateText;
  readonly notes: string;
}

export type OfferChecked = { readonly ok: true; readonly draft: OfferDraft } | { readonly ok: false; readonly errors: OfferErrors };

export interface OfferFormContext {
  readonly schools: readonly { id: string; name: string }[];
  /** A rep's own school: the offer is for it whatever the form says. Undefined for a coordinator, who chooses. */
  readonly fixedSchoolId?: string;
  readonly now: Date;
  readonly policy: MatchPolicy;
}

const SUBJECT = /^[\p{L}\p{N}][\p{L}\p{N} '’&.,()+\-]*$/u;
/** A first name, optionally followed by an initial: "Sam", "Sam P", "Sam P.", "Anne-Marie O'". */
const TRAINEE = /^\p{L}[\p{L}'’\-]{0,29}(?: \p{L}\.?)?$/u;
const MAX_DAYS_AHEAD = 366;

function isPhase(value: string): value is Phase {
  return (PHASES as readonly string[]).includes(value);
}

function checkSubject(subject: string): string | undefined {
  if (subject.length < 2) return 'a subject needs at least 2 characters';
  if (subject.length > 60) return 'keep each subject to 60 characters';
  if (!SUBJECT.test(subject)) return 'use letters, numbers, spaces and & . , ( ) + - only';
  return undefined;
}

/** Whether a trainee's name is a first name and initial at most (the only personal detail kept). */
export function isTraineeName(name: string): boolean {
  return TRAINEE.test(name);
}

export function checkOfferForm(values: OfferValues, ctx: OfferFormContext): OfferChecked {
  const errors: OfferErrors = {};
  const v = Object.fromEntries(OFFER_FIELDS.map((f) => [f, (values[f] ?? '').replace(/\s+/g, ' ').trim()])) as OfferValues;
  const notes = (values.notes ?? '').trim();

  const schoolId = ctx.fixedSchoolId ?? v.school;
  const school = ctx.schools.find((s) => s.id === schoolId);
  if (!school) errors.school = ctx.fixedSchoolId ? 'Your school is no longer in the directory. Ask a coordinator.' : 'Choose the school this offer is for.';

  if (!isPhase(v.sendPhase)) errors.sendPhase = 'Choose the phase of the trainee you can send.';
  if (!v.sendSubject) errors.sendSubject = 'Say which subject your trainee teaches (e.g. Maths, or General for primary).';
  else {
    const problem = checkSubject(v.sendSubject);
    if (problem) errors.sendSubject = `Subject: ${problem}.`;
  }
  let count: number | undefined;
  if (!/^\d{1,3}$/.test(v.sendCount)) errors.sendCount = 'Give the number of trainees as a whole number, from 1 to 10.';
  else {
    count = Number(v.sendCount);
    if (count < 1) errors.sendCount = 'A swap needs at least one trainee.';
    else if (count > 10) errors.sendCount = 'At most 10 trainees in one offer.';
  }
  if (v.trainee && !isTraineeName(v.trainee)) errors.trainee = "Give the trainee's first name and initial at most, e.g. Sam P.";

  if (!isPhase(v.hostPhase)) errors.hostPhase = 'Choose the phase you can host.';
  const hosts = parseSubjects(values.hostSubjects ?? '');
  if (hosts.length === 0) errors.hostSubjects = 'Say which subjects you can host, separated by commas.';
  else if (hosts.length > 10) errors.hostSubjects = 'At most 10 subjects.';
  else {
    const bad = hosts.map((s) => checkSubject(s)).find((p) => p);
    if (bad) errors.hostSubjects = `Subjects: ${bad}.`;
  }

  const today = dayNumber(todayIn(ctx.now))!;
  const from = dayNumber(v.from);
  const to = dayNumber(v.to);
  const confirmBy = dayNumber(v.confirmBy);
  const minDays = ctx.policy.minOverlapWeeks * 5;
  if (from === undefined) errors.from = 'Choose the first date of the placement.';
  else if (from < today) errors.from = 'The first date is in the past.';
  else if (from > today + MAX_DAYS_AHEAD) errors.from = 'Offers can be made up to a year ahead.';
  if (to === undefined) errors.to = 'Choose the last date of the placement.';
  else if (from !== undefined && !errors.from) {
    if (to < from) errors.to = 'The last date is before the first date.';
    else if (to - from > MAX_DAYS_AHEAD) errors.to = 'A placement can last at most a year.';
    else if (schoolDaysBetween(v.from, v.to) < minDays) errors.to = `The weeks must cover at least ${ctx.policy.minOverlapWeeks} school week${ctx.policy.minOverlapWeeks === 1 ? '' : 's'} (${minDays} school days), the shortest swap.`;
  }
  if (confirmBy === undefined) errors.confirmBy = 'Choose the date by which the swap must be agreed.';
  else if (confirmBy < today) errors.confirmBy = 'The confirm-by date is in the past.';
  else if (from !== undefined && confirmBy > from) errors.confirmBy = 'The swap must be agreed by the first date of the placement at the latest.';

  if (notes.length > 500) errors.notes = 'Keep the notes to 500 characters.';

  if (Object.keys(errors).length > 0 || !school || count === undefined || !isPhase(v.sendPhase) || !isPhase(v.hostPhase)) return { ok: false, errors };
  return {
    ok: true,
    draft: {
      schoolId: school.id,
      schoolName: school.name,
      sends: { phase: v.sendPhase, subject: v.sendSubject, count, trainee: v.trainee },
      hosts: { phase: v.hostPhase, subjects: hosts },
      from: v.from,
      to: v.to,
      confirmBy: v.confirmBy,
      notes,
    },
  };
}
