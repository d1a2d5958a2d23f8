import { spreadsheetCsv } from '../platform/downloads';
import { formatDayTime, formatTime, londonDate, londonTime } from '../platform/time';
import type { FormErrors, FormValues } from './form';
import { FORM_FIELDS } from './form';
import { SLOT_LENGTHS, type Aggregate, type SignUp, type TeachMeet } from './model';
import { counts, isClosed, statusLabel, waitPosition } from './rules';

/** TeachMeet domain → typed template data for cards/teachmeet*.json. No Teams calls here. */

export interface FormCardData {
  readonly heading: string;
  readonly verb: 'teachmeet.create' | 'teachmeet.saveEdit';
  readonly submitTitle: string;
  readonly eventId: string;
  readonly version: number;
  readonly values: FormValues;
  readonly errors: Record<string, string>;
  readonly hasErrors: boolean;
  readonly hostChoices: { title: string; value: string }[];
  readonly hasAnnouncements: boolean;
}

export function formCardData(opts: {
  mode: 'new' | 'edit';
  event?: TeachMeet;
  values?: FormValues;
  errors?: FormErrors;
  schools: readonly { id: string; name: string }[];
  hasAnnouncements: boolean;
}): FormCardData {
  const values = opts.values ?? (opts.event ? valuesOf(opts.event) : emptyValues());
  const errors = Object.fromEntries(FORM_FIELDS.map((f) => [f, opts.errors?.[f] ?? '']));
  return {
    heading: opts.mode === 'new' ? 'New TeachMeet' : `Edit: ${opts.event?.title ?? 'TeachMeet'}`,
    verb: opts.mode === 'new' ? 'teachmeet.create' : 'teachmeet.saveEdit',
    submitTitle: opts.mode === 'new' ? 'Create and post' : 'Save changes',
    eventId: opts.event?.id ?? '',
    version: opts.event?.version ?? 0,
    values,
    errors,
    hasErrors: Object.values(opts.errors ?? {}).some((e) => !!e),
    hostChoices: [...opts.schools.map((s) => ({ title: s.name, value: s.id })), { title: 'Online', value: 'online' }],
    hasAnnouncements: opts.mode === 'new' && opts.hasAnnouncements,
  };
}

function emptyValues(): FormValues {
  const v = Object.fromEntries(FORM_FIELDS.map((f) => [f, ''])) as FormValues;
  return { ...v, slots2: '0', slots5: '0', slots7: '0', deadlineTime: '17:00', announce: 'false' };
}

function valuesOf(e: TeachMeet): FormValues {
  return {
    title: e.title,
    host: e.host.kind === 'online' ? 'online' : e.host.schoolId,
    date: londonDate(e.startsAt),
    start: londonTime(e.startsAt),
    end: londonTime(e.endsAt),
    venue: e.venue,
    link: e.link,
    places: String(e.places),
    slots2: String(e.slots[2]),
    slots5: String(e.slots[5]),
    slots7: String(e.slots[7]),
    deadlineDate: londonDate(e.deadline),
    deadlineTime: londonTime(e.deadline),
    theme: e.theme,
    announce: 'false',
  };
}

export function whenText(e: TeachMeet, now: Date): string {
  return `${formatDayTime(e.startsAt, now)}–${formatTime(e.endsAt)}`;
}

export function whereText(e: TeachMeet): string {
  if (e.host.kind === 'online') return 'Online';
  return e.venue ? `${e.host.schoolName}, ${e.venue}` : e.host.schoolName;
}

/** "You're presenting: 5 min, 'Retrieval practice in Year 9'" and the like. */
export function myStatus(agg: Aggregate, aadObjectId: string, now: Date): string | undefined {
  const me = agg.signUps.get(aadObjectId);
  if (!me) return undefined;
  switch (me.status) {
    case 'confirmed':
      return me.role === 'presenter' && me.talk ? `You're presenting: ${me.talk.slot} min, '${me.talk.title}'` : "You're attending.";
    case 'waiting':
      return `You're number ${waitPosition(agg, aadObjectId) ?? '?'} on the waitlist.`;
    case 'offered':
      return `A place is held for you until ${me.offerExpiresAt ? formatDayTime(me.offerExpiresAt, now) : 'soon'}: accept it from the message I sent you.`;
    case 'cancelled':
      return "You're not signed up.";
  }
}

export interface EventCardData {
  readonly eventId: string;
  readonly title: string;
  readonly theme: string;
  readonly hasTheme: boolean;
  readonly status: string;
  readonly statusColour: 'Good' | 'Warning' | 'Attention';
  readonly isOpen: boolean;
  readonly isCancelled: boolean;
  readonly canPresent: boolean;
  readonly when: string;
  readonly where: string;
  readonly link: string;
  readonly hasLink: boolean;
  readonly placesLine: string;
  readonly slotsLine: string;
  readonly waitLine: string;
  readonly deadlineLine: string;
  readonly organiser: string;
  readonly mine: string;
  readonly hasMine: boolean;
  readonly order: { n: number; name: string; school: string; talk: string }[];
  readonly hasOrder: boolean;
  readonly slotChoices: { title: string; value: string }[];
  readonly firstSlot: string;
  /** Teams ids of people signed up (at most 60, Teams' limit): their clients fetch their own view. */
  readonly refreshUserIds: string[];
}

/** Teams refreshes a card automatically for at most 60 listed people. */
const REFRESH_LIMIT = 60;

export function eventCardData(agg: Aggregate, now: Date, schoolName: (id: string) => string, viewer?: string): EventCardData {
  const e = agg.event;
  const c = counts(agg);
  const status = statusLabel(e, now);
  const open = status === 'Open';
  const free = SLOT_LENGTHS.filter((len) => c.slotsLeft[len] > 0);
  const totalSlots = e.slots[2] + e.slots[5] + e.slots[7];
  const mine = viewer ? myStatus(agg, viewer, now) : undefined;
  const order = e.runningOrder
    .map((id) => agg.signUps.get(id))
    .filter((s): s is SignUp => !!s && s.status === 'confirmed' && s.role === 'presenter' && !!s.talk)
    .map((s, i) => ({ n: i + 1, name: s.name, school: schoolName(s.schoolId) || 'no school set', talk: `${s.talk!.slot} min, '${s.talk!.title}'` }));
  return {
    eventId: e.id,
    title: e.title,
    theme: e.theme,
    hasTheme: !!e.theme,
    status,
    statusColour: status === 'Open' ? 'Good' : status === 'Closed' ? 'Warning' : 'Attention',
    isOpen: open,
    isCancelled: e.status === 'cancelled',
    canPresent: open && free.length > 0,
    when: whenText(e, now),
    where: whereText(e),
    link: e.link,
    hasLink: !!e.link && e.status !== 'cancelled',
    placesLine: `${c.placesLeft} of ${e.places} left`,
    slotsLine: totalSlots === 0 ? 'No presenter slots' : SLOT_LENGTHS.filter((len) => e.slots[len] > 0).map((len) => `${c.slotsLeft[len]} of ${e.slots[len]} × ${len} min left`).join(', '),
    waitLine: c.waiting + c.offered === 0 ? 'Nobody waiting' : `${c.waiting + c.offered} waiting`,
    deadlineLine: isClosed(e, now) ? `Closed ${formatDayTime(e.deadline < e.startsAt ? e.deadline : e.startsAt, now)}` : `Close ${formatDayTime(e.deadline, now)}`,
    organiser: e.organiser.name,
    mine: mine ?? '',
    hasMine: !!mine,
    order,
    hasOrder: order.length > 0,
    slotChoices: free.map((len) => ({ title: `${len} minutes (${c.slotsLeft[len]} left)`, value: String(len) })),
    firstSlot: free.length > 0 ? String(free[0]) : '',
    refreshUserIds: [...agg.signUps.values()]
      .filter((s) => s.status !== 'cancelled' && s.teamsId)
      .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())
      .slice(0, REFRESH_LIMIT)
      .map((s) => s.teamsId),
  };
}

/** A Teams calendar deep link that opens a new meeting form with the TeachMeet's details. */
export function calendarLink(e: TeachMeet): string {
  const params = new URLSearchParams({
    subject: `TeachMeet: ${e.title}`,
    startTime: e.startsAt.toISOString(),
    endTime: e.endsAt.toISOString(),
    content: e.theme ? `Theme: ${e.theme}` : 'TeachMeet',
    location: e.host.kind === 'online' ? e.link : whereText(e),
  });
  return `https://teams.microsoft.com/l/meeting/new?${params.toString().replace(/\+/g, '%20')}`;
}

export interface NoticeCardData {
  readonly heading: string;
  readonly text: string;
  readonly title: string;
  readonly when: string;
  readonly where: string;
  readonly link: string;
  readonly hasLink: boolean;
  readonly calendarUrl: string;
  readonly hasCalendar: boolean;
}

export function noticeCardData(e: TeachMeet, heading: string, text: string, now: Date, withCalendar: boolean): NoticeCardData {
  return { heading, text, title: e.title, when: whenText(e, now), where: whereText(e), link: e.link, hasLink: !!e.link && e.status !== 'cancelled', calendarUrl: calendarLink(e), hasCalendar: withCalendar };
}

export function offerCardData(e: TeachMeet, expiresAt: Date, now: Date) {
  return { eventId: e.id, title: e.title, when: whenText(e, now), where: whereText(e), expires: formatDayTime(expiresAt, now) };
}

export interface AttendeeRow {
  readonly name: string;
  readonly school: string;
  readonly role: string;
  readonly talk: string;
  readonly status: string;
}

/** Who is coming, presenters first, then attendees, then the waitlist in order. */
export function attendeeRows(agg: Aggregate, schoolName: (id: string) => string): AttendeeRow[] {
  const rank = (s: SignUp) => (s.status === 'confirmed' ? (s.role === 'presenter' ? 0 : 1) : 2);
  return [...agg.signUps.values()]
    .filter((s) => s.status !== 'cancelled')
    .sort((a, b) => rank(a) - rank(b) || (a.waitNumber ?? 0) - (b.waitNumber ?? 0) || a.name.localeCompare(b.name, 'en-GB'))
    .map((s) => ({
      name: s.name,
      school: schoolName(s.schoolId) || 'No school set',
      role: s.status !== 'confirmed' ? (s.status === 'offered' ? 'Offered a place' : `Waiting (${waitPosition(agg, s.aadObjectId)})`) : s.role === 'presenter' && s.talk ? `Presenting ${s.talk.slot} min: '${s.talk.title}'` : 'Attending',
      talk: s.talk ? `${s.talk.title}${s.talk.line ? ` — ${s.talk.line}` : ''}` : '',
      status: s.status,
    }));
}

/** Who is coming, as a CSV for spreadsheets. */
export function attendeesCsv(rows: readonly AttendeeRow[]): string {
  return spreadsheetCsv(['Name', 'School', 'Role', 'Talk', 'Status'], rows.map((r) => [r.name, r.school, r.role, r.talk, r.status]));
}
