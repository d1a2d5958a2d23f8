import { z } from 'zod';
import { londonDate, londonToInstant } from '../platform/time';
import type { Content, Tag } from './model';
import { criteriaMissing, decisionDue, type Criterion } from './rules';

/**
 * The proposal form: what the card sends back (every value a string, as Teams sends them; a
 * multi-select as ids joined with commas) and the checks that decide whether it can be stored. Pure;
 * problems are keyed by field so the card shows each by its input, with the values kept, and the
 * criteria it does not address are named.
 */

export const FORM_FIELDS = [
  'title',
  'summary',
  'partners',
  'contributions',
  'collaboration',
  'pupils',
  'staff',
  'legacy',
  'outcome',
  'needs',
  'funderOutcomes',
  'startDate',
  'endDate',
  'budget',
  'decisionBy',
] as const;
export type FormField = (typeof FORM_FIELDS)[number];
export type FormValues = Record<FormField, string>;
export type FormErrors = Partial<Record<FormField, string>>;

const field = z.string().max(3000).optional().default('');
/** What the card may send: known fields as strings; anything else is ignored. Over-long values fail. */
export const FormInput = z.object(Object.fromEntries(FORM_FIELDS.map((f) => [f, field])) as Record<FormField, typeof field>);

export type Checked = { ok: true; content: Content } | { ok: false; errors: FormErrors; missing: Criterion[] };

export interface FormContext {
  readonly schools: readonly { id: string; name: string }[];
  readonly leadSchoolId: string;
  readonly needs: readonly Tag[];
  readonly outcomes: readonly Tag[];
  readonly now: Date;
}

/** Ids from a multi-select: Teams sends them joined with commas. */
export function splitChoices(raw: string): string[] {
  return [...new Set(raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0))];
}

function count(raw: string): number | undefined {
  const v = raw.trim();
  if (v === '') return 0;
  if (!/^\d{1,6}$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 100_000 ? n : undefined;
}

/** "£1,250.50" → 125050 pence; '' → undefined (no budget asked for); anything else → NaN. */
export function parseBudget(raw: string): number | undefined {
  const v = raw.replace(/[£,\s]/g, '');
  if (v === '') return undefined;
  if (!/^\d{1,7}(\.\d{1,2})?$/.test(v)) return Number.NaN;
  const [pounds, pence = ''] = v.split('.');
  return Number(pounds) * 100 + Number(pence.padEnd(2, '0'));
}

const isDate = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v) && londonToInstant(v, '12:00') !== undefined;

export function checkForm(values: FormValues, ctx: FormContext): Checked {
  const errors: FormErrors = {};
  const v = Object.fromEntries(FORM_FIELDS.map((f) => [f, (values[f] ?? '').trim()])) as FormValues;

  if (v.title.length < 3) errors.title = 'Give the project a title (at least 3 characters).';
  else if (v.title.length > 100) errors.title = 'Keep the title to 100 characters.';
  if (v.summary.length === 0) errors.summary = 'Give a short summary of the project.';
  else if (v.summary.length > 1000) errors.summary = 'Keep the summary to 1,000 characters.';
  const long = (f: FormField, max: number) => {
    if (v[f].length > max) errors[f] = `Keep this to ${max.toLocaleString('en-GB')} characters.`;
  };
  long('contributions', 1000);
  long('collaboration', 600);
  long('legacy', 600);
  long('outcome', 600);

  const chosen = splitChoices(v.partners).filter((id) => id !== ctx.leadSchoolId);
  const unknownSchool = chosen.some((id) => !ctx.schools.some((s) => s.id === id));
  if (unknownSchool) errors.partners = 'Choose the partner schools from the list.';
  const partnerSchoolIds = chosen.filter((id) => ctx.schools.some((s) => s.id === id));

  const pupils = count(v.pupils);
  const staff = count(v.staff);
  if (pupils === undefined) errors.pupils = 'A whole number of pupils (a count only, up to 100,000).';
  if (staff === undefined) errors.staff = 'A whole number of staff (a count only, up to 100,000).';

  const needIds = splitChoices(v.needs);
  const outcomeIds = splitChoices(v.funderOutcomes);
  const needs = needIds.map((id) => ctx.needs.find((t) => t.id === id)).filter((t): t is Tag => !!t);
  const outcomes = outcomeIds.map((id) => ctx.outcomes.find((t) => t.id === id)).filter((t): t is Tag => !!t);
  if (needs.length !== needIds.length) errors.needs = 'Choose mutual needs from the list.';
  else if (needs.length === 0) errors.needs = 'Choose at least one mutual need of the partner schools that it serves.';
  if (outcomes.length !== outcomeIds.length) errors.funderOutcomes = 'Choose funder outcomes from the list.';

  const today = londonDate(ctx.now);
  if (!isDate(v.startDate)) errors.startDate = 'Choose the start date.';
  else if (v.startDate < today) errors.startDate = 'The start date is in the past.';
  const endDate = v.endDate || v.startDate;
  if (v.endDate && !isDate(v.endDate)) errors.endDate = 'Choose the end date, or leave it empty for a one-day project.';
  else if (!errors.startDate && endDate < v.startDate) errors.endDate = 'The end date must be on or after the start date.';

  const budgetPence = parseBudget(v.budget);
  if (budgetPence !== undefined && (Number.isNaN(budgetPence) || budgetPence > 100_000_000)) errors.budget = 'An amount in pounds, e.g. 1250 or 1250.50 (up to £1,000,000), or leave it empty.';

  if (!isDate(v.decisionBy)) errors.decisionBy = 'Choose the date by which partner schools should decide.';
  else if (decisionDue({ decisionBy: v.decisionBy }).getTime() <= ctx.now.getTime()) errors.decisionBy = 'The decision-by date has passed (decisions are due by 17:00 that day).';
  else if (!errors.startDate && v.decisionBy > v.startDate) errors.decisionBy = 'Partner schools should decide on or before the start date.';

  const missing = criteriaMissing({ contributions: v.contributions, pupils: pupils ?? 0, staff: staff ?? 0, legacy: v.legacy, partnerSchoolIds, collaboration: v.collaboration, outcome: v.outcome }, ctx.leadSchoolId);
  if (missing.includes('contributes') && !errors.contributions) errors.contributions = 'Say how each school contributes (criterion 1).';
  if (missing.includes('impact') && !errors.pupils && !errors.staff) errors.pupils = 'Give the number of pupils and staff expected to take part (criterion 2).';
  if (missing.includes('legacy') && !errors.legacy) errors.legacy = 'Say what lasts afterwards, its legacy (criterion 2).';
  if (missing.includes('collaboration') && !errors.partners) errors.partners = 'Choose at least one partner school besides your own (criterion 3).';
  if (missing.includes('groups') && !errors.collaboration) errors.collaboration = 'Say how different pupil or staff groups work together (criterion 3).';
  if (missing.includes('measurable') && !errors.outcome) errors.outcome = 'Say what measurable outcome it will have (criterion 4).';

  if (Object.keys(errors).length > 0 || pupils === undefined || staff === undefined) return { ok: false, errors, missing };
  return {
    ok: true,
    content: {
      title: v.title,
      summary: v.summary,
      partnerSchoolIds,
      contributions: v.contributions,
      collaboration: v.collaboration,
      pupils,
      staff,
      legacy: v.legacy,
      outcome: v.outcome,
      mutualNeeds: needs.map((t) => t.label),
      funderOutcomes: outcomes.map((t) => t.label),
      startDate: v.startDate,
      endDate,
      budgetPence,
      decisionBy: v.decisionBy,
    },
  };
}

/** The form's values for an existing version (tags back to the ids of the current lists; labels no longer listed are dropped). */
export function valuesOf(c: Content, needs: readonly Tag[], outcomes: readonly Tag[]): FormValues {
  const ids = (labels: readonly string[], tags: readonly Tag[]) =>
    labels
      .map((l) => tags.find((t) => t.label === l)?.id)
      .filter((id): id is string => !!id)
      .join(',');
  return {
    title: c.title,
    summary: c.summary,
    partners: c.partnerSchoolIds.join(','),
    contributions: c.contributions,
    collaboration: c.collaboration,
    pupils: String(c.pupils),
    staff: String(c.staff),
    legacy: c.legacy,
    outcome: c.outcome,
    needs: ids(c.mutualNeeds, needs),
    funderOutcomes: ids(c.funderOutcomes, outcomes),
    startDate: c.startDate,
    endDate: c.endDate,
    budget: c.budgetPence === undefined ? '' : (c.budgetPence / 100).toFixed(c.budgetPence % 100 === 0 ? 0 : 2),
    decisionBy: c.decisionBy,
  };
}

export function emptyValues(): FormValues {
  return Object.fromEntries(FORM_FIELDS.map((f) => [f, ''])) as FormValues;
}
