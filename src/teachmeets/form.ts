import { z } from 'zod';
import { londonToInstant } from '../platform/time';
import { isHttpsUrl } from '../platform/urls';
import type { Host, SlotLength } from './model';

/**
 * The TeachMeet form: what the card sends back (every value a string, as Teams sends them) and the
 * checks that decide whether it can be stored. Pure; the problems are keyed by field so the card can
 * show each next to its input, with the values kept.
 */

export const FORM_FIELDS = ['title', 'host', 'date', 'start', 'end', 'venue', 'link', 'places', 'slots2', 'slots5', 'slots7', 'deadlineDate', 'deadlineTime', 'theme', 'announce'] as const;
export type FormField = (typeof FORM_FIELDS)[number];
export type FormValues = Record<FormField, string>;
export type FormErrors = Partial<Record<FormField, string>>;

const field = z.string().max(2000).optional().default('');
/** What the card may send: known fields as strings; anything else is ignored. Over-long values fail. */
export const FormInput = z.object(Object.fromEntries(FORM_FIELDS.map((f) => [f, field])) as Record<FormField, typeof field>);

export interface Draft {
  readonly title: string;
  readonly theme: string;
  readonly host: Host;
  readonly startsAt: Date;
  readonly endsAt: Date;
  readonly venue: string;
  readonly link: string;
  readonly places: number;
  readonly slots: Record<SlotLength, number>;
  readonly deadline: Date;
  readonly announce: boolean;
}

export type Checked = { ok: true; draft: Draft } | { ok: false; errors: FormErrors };

function count(raw: string, min: number, max: number): number | undefined {
  if (!/^\d{1,5}$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return n >= min && n <= max ? n : undefined;
}

export function checkForm(values: FormValues, schools: readonly { id: string; name: string }[], now: Date): Checked {
  const errors: FormErrors = {};
  const v = Object.fromEntries(FORM_FIELDS.map((f) => [f, (values[f] ?? '').trim()])) as FormValues;

  if (v.title.length < 3) errors.title = 'Give the TeachMeet a title (at least 3 characters).';
  else if (v.title.length > 100) errors.title = 'Keep the title to 100 characters.';
  if (v.theme.length > 100) errors.theme = 'Keep the theme to 100 characters.';

  let host: Host | undefined;
  if (v.host === 'online') host = { kind: 'online' };
  else {
    const school = schools.find((s) => s.id === v.host);
    if (school) host = { kind: 'school', schoolId: school.id, schoolName: school.name };
    else errors.host = 'Choose the host school, or online.';
  }

  const startsAt = londonToInstant(v.date, v.start);
  const endsAt = londonToInstant(v.date, v.end);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v.date) || !londonToInstant(v.date, '12:00')) errors.date = 'Choose the date.';
  else if (!startsAt) errors.start = 'Choose the start time.';
  else if (startsAt.getTime() <= now.getTime()) errors.date = 'That date and time is in the past.';
  if (!errors.date && !errors.start) {
    if (!endsAt) errors.end = 'Choose the end time.';
    else if (startsAt && endsAt.getTime() <= startsAt.getTime()) errors.end = 'The end must be after the start.';
  }

  if (v.venue.length > 200) errors.venue = 'Keep the venue to 200 characters.';
  if (v.link) {
    if (!isHttpsUrl(v.link)) errors.link = 'The meeting link must be a full https:// address.';
  } else if (host?.kind === 'online') errors.link = 'An online TeachMeet needs its https:// meeting link.';
  if (host?.kind === 'school' && !v.venue) errors.venue = 'Say where in the school (e.g. the library).';

  const places = count(v.places, 1, 2000);
  if (places === undefined) errors.places = 'Give the number of attendee places (at least 1).';
  const slots = { 2: count(v.slots2 || '0', 0, 50), 5: count(v.slots5 || '0', 0, 50), 7: count(v.slots7 || '0', 0, 50) };
  if (slots[2] === undefined) errors.slots2 = 'A whole number from 0 to 50.';
  if (slots[5] === undefined) errors.slots5 = 'A whole number from 0 to 50.';
  if (slots[7] === undefined) errors.slots7 = 'A whole number from 0 to 50.';

  const deadline = londonToInstant(v.deadlineDate, v.deadlineTime || '23:59');
  if (!deadline) errors.deadlineDate = 'Choose when sign-ups close.';
  else if (deadline.getTime() <= now.getTime()) errors.deadlineDate = 'The sign-up deadline is in the past.';
  else if (startsAt && deadline.getTime() > startsAt.getTime()) errors.deadlineDate = 'Sign-ups must close before the TeachMeet starts.';

  if (Object.keys(errors).length > 0 || !host || !startsAt || !endsAt || !deadline || places === undefined) return { ok: false, errors };
  return {
    ok: true,
    draft: {
      title: v.title,
      theme: v.theme,
      host,
      startsAt,
      endsAt,
      venue: v.venue,
      link: v.link,
      places,
      slots: { 2: slots[2]!, 5: slots[5]!, 7: slots[7]! },
      deadline,
      announce: v.announce === 'true',
    },
  };
}
