import { REFRESH_USER_LIMIT } from '../platform/cards';
import type { Deadline } from '../platform/deadlines/types';
import { spreadsheetCsv } from '../platform/downloads';
import { pupilWarningText, type PupilDataWarning } from '../platform/pupilData';
import { formatDayTime, formatTime, londonDate, londonTime } from '../platform/time';
import type { FormErrors, FormValues } from './form';
import { FORM_FIELDS } from './form';
import { SLOT_LENGTHS, type Aggregate, type SignUp, type TeachMeet } from './model';
import { counts, isClosed, reminderId, statusLabel, waitPosition } from './rules';

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
  /** An edit form has a Back to the TeachMeet card. */
  readonly hasBack: boolean;
  /** The free text may name a pupil: a warning above the form, and `anywayTitle` beside the submit button. */
  readonly pupilWarning: string;
  readonly pupilCheck: boolean;
  readonly anywayTitle: string;
}

/** The free text of the TeachMeet form checked for pupils' names before anything is stored, and how the warning names each. */
export const FORM_FREE_TEXT = { title: 'the title', theme: 'the theme', venue: 'the venue' } as const;
export const POST_ANYWAY = 'Post anyway: it is not a pupil';
export const SAVE_ANYWAY = 'Save anyway: it is not a pupil';

export function formCardData(opts: {
  mode: 'new' | 'edit';
  event?: TeachMeet;
  values?: FormValues;
  errors?: FormErrors;
  schools: readonly { id: string; name: string }[];
  hasAnnouncements: boolean;
  pupilData?: readonly PupilDataWarning[];
}): FormCardData {
  const anyway = opts.mode === 'new' ? POST_ANYWAY : SAVE_ANYWAY;
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
    hasBack: opts.mode === 'edit' && !!opts.event,
    pupilWarning: pupilWarningText(opts.pupilData ?? [], FORM_FREE_TEXT, anyway),
    pupilCheck: (opts.pupilData ?? []).length > 0,
    anywayTitle: anyway,
  };
}

/** The presenter's talk (title and one line) checked for pupils' names, and how the warning names each. */
export const TALK_FREE_TEXT = { talkTitle: 'the talk title', talkLine: 'the line about it' } as const;
export const PRESENT_ANYWAY = 'Sign up anyway: it is not a pupil';

export interface PresentCardData {
  readonly eventId: string;
  readonly title: string;
  readonly when: string;
  readonly pupilWarning: string;
  readonly talkTitle: string;
  readonly talkLine: string;
  readonly slot: string;
  readonly slotChoices: { title: string; value: string }[];
  readonly anywayTitle: string;
}

/** The presenter's form on its own, the talk kept, with the pupil-data warning above it. */
export function presentCardData(agg: Aggregate, now: Date, talk: { title: string; line: string; slot: string }, pupilData: readonly PupilDataWarning[]): PresentCardData {
  const e = agg.event;
  const slotChoices = slotChoicesOf(agg);
  return {
    eventId: e.id,
    title: e.title,
    when: whenText(e, now),
    pupilWarning: pupilWarningText(pupilData, TALK_FREE_TEXT, PRESENT_ANYWAY),
    talkTitle: talk.title,
    talkLine: talk.line,
    slot: slotChoices.some((c) => c.value === talk.slot) ? talk.slot : (slotChoices[0]?.value ?? ''),
    slotChoices,
    anywayTitle: PRESENT_ANYWAY,
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
  /** Attend is offered: sign-ups are open (and, on a one-reader card, the reader is not already attending or waiting). */
  readonly canAttend: boolean;
  /** Cancel my place is offered: not cancelled (and, on a one-reader card, the reader has a place or a waitlist number). */
  readonly canCancel: boolean;
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
  readonly order: { n: number; name: string; school: string; talk: string; late: string }[];
  readonly hasOrder: boolean;
  /** "1 presenter signed up after the draw and is at the end. Draw again to mix them in." (organisers only). */
  readonly lateLine: string;
  readonly hasLateLine: boolean;
  readonly canOrganise: boolean;
  readonly slotChoices: { title: string; value: string }[];
  readonly firstSlot: string;
  /** Teams ids whose clients fetch their own view (at most 60, Teams' limit): the organisers first, then people signed up. */
  readonly refreshUserIds: string[];
}


/**
 * Whose card it is. Without a viewer it is the shared card everyone sees: no organiser buttons, and
 * `refresh` so Teams asks for the own view of the people listed (organiser, host reps, coordinators first).
 */
export interface CardView {
  /** The person looking (their place is shown on the card). */
  readonly viewer?: string;
  /** Whether they may organise this TeachMeet (edit, list, draw, cancel): decided by the routes from their Teams identity. */
  readonly canOrganise?: boolean;
  /** Teams ids of the people who organise it: Teams fetches their own view (with the organiser buttons). */
  readonly organisers?: readonly string[];
  /** The card has this one reader (a 1:1 chat): Attend or Cancel my place is left out when it would do nothing for them. */
  readonly onlyReader?: boolean;
}

export function eventCardData(agg: Aggregate, now: Date, schoolName: (id: string) => string, view: CardView = {}): EventCardData {
  const viewer = view.viewer;
  const me = viewer ? agg.signUps.get(viewer) : undefined;
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
    .map((s, i) => ({ n: i + 1, name: s.name, school: schoolName(s.schoolId) || 'no school set', talk: `${s.talk!.slot} min, '${s.talk!.title}'`, late: e.addedLate.includes(s.aadObjectId) ? ' (added after the draw)' : '' }));
  const late = order.filter((o) => o.late).length;
  return {
    eventId: e.id,
    title: e.title,
    theme: e.theme,
    hasTheme: !!e.theme,
    status,
    statusColour: status === 'Open' ? 'Good' : status === 'Closed' ? 'Warning' : 'Attention',
    isOpen: open,
    isCancelled: e.status === 'cancelled',
    canAttend: open && !(view.onlyReader && me && (me.status === 'waiting' || me.status === 'offered' || (me.status === 'confirmed' && me.role === 'attendee'))),
    canCancel: e.status !== 'cancelled' && !(view.onlyReader && (!me || me.status === 'cancelled')),
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
    lateLine: late === 0 ? '' : `${late === 1 ? '1 presenter' : `${late} presenters`} signed up after the draw and ${late === 1 ? 'is' : 'are'} at the end. Draw again to mix ${late === 1 ? 'them' : 'them all'} in.`,
    hasLateLine: late > 0 && !!view.canOrganise && e.status !== 'cancelled',
    canOrganise: !!view.canOrganise && e.status !== 'cancelled',
    slotChoices: slotChoicesOf(agg),
    firstSlot: free.length > 0 ? String(free[0]) : '',
    refreshUserIds: [
      ...new Set([
        ...(view.organisers ?? []),
        ...[...agg.signUps.values()]
          .filter((s) => s.status !== 'cancelled' && s.teamsId)
          .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())
          .map((s) => s.teamsId),
      ]),
    ].slice(0, REFRESH_USER_LIMIT),
  };
}

/** The presenter slot lengths with places left, as choices ("5 minutes (1 left)"). */
function slotChoicesOf(agg: Aggregate): { title: string; value: string }[] {
  const left = counts(agg).slotsLeft;
  return SLOT_LENGTHS.filter((len) => left[len] > 0).map((len) => ({ title: `${len} minutes (${left[len]} left)`, value: String(len) }));
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

/** "Your place is confirmed" (or "You're presenting", with the talk). */
export function confirmedNoticeData(e: TeachMeet, s: Pick<SignUp, 'role' | 'talk'>, now: Date): NoticeCardData {
  return s.role === 'presenter' && s.talk
    ? noticeCardData(e, "You're presenting", `${s.talk.slot} min, '${s.talk.title}'. Add it to your calendar so you don't miss it.`, now, true)
    : noticeCardData(e, 'Your place is confirmed', "See you there. Add it to your calendar so you don't miss it.", now, true);
}

export function offerExpiredNoticeData(e: TeachMeet, now: Date): NoticeCardData {
  return noticeCardData(e, 'The place you were offered has gone', 'The offer expired before it was accepted, so the place went to the next person waiting.', now, false);
}

export function changedNoticeData(e: TeachMeet, what: readonly string[], now: Date, confirmed: boolean): NoticeCardData {
  return noticeCardData(e, `${e.title} has changed`, `What changed: ${what.join('; ')}.`, now, confirmed);
}

export function cancelledNoticeData(e: TeachMeet, now: Date): NoticeCardData {
  return noticeCardData(e, `${e.title} is cancelled`, cancelledText(e), now, false);
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

export interface ConfirmCardData {
  readonly eventId: string;
  readonly heading: string;
  readonly title: string;
  readonly when: string;
  readonly where: string;
  readonly text: string;
  /** Cancelling the whole TeachMeet (with a reason), rather than one person's place. */
  readonly isEvent: boolean;
  readonly reason: string;
  readonly problem: string;
  readonly hasProblem: boolean;
  /** The reason may name a pupil: a warning above it, and CANCEL_ANYWAY beside the button. */
  readonly pupilWarning: string;
  readonly pupilCheck: boolean;
  readonly anywayTitle: string;
}

export const CANCEL_ANYWAY = 'Cancel it anyway: it is not a pupil';
const NO_PUPIL_CHECK = { pupilWarning: '', pupilCheck: false, anywayTitle: CANCEL_ANYWAY } as const;

/** "Cancel your place?": what the person gives up, before they give it up. */
export function confirmCancelPlaceData(agg: Aggregate, aadObjectId: string, now: Date): ConfirmCardData {
  const e = agg.event;
  const me = agg.signUps.get(aadObjectId);
  const waitlisted = me?.status === 'waiting' || me?.status === 'offered';
  const text =
    me?.status === 'confirmed' && me.role === 'presenter' && me.talk
      ? `Your ${me.talk.slot}-minute slot for '${me.talk.title}' will go to someone else, and you would have to sign up again to get one back.`
      : waitlisted
        ? `You'll lose your place on the waitlist (number ${waitPosition(agg, aadObjectId) ?? '?'}).`
        : 'Your place will go to the next person waiting, and you would have to sign up again to get one back.';
  return { eventId: e.id, heading: waitlisted ? 'Leave the waitlist?' : 'Cancel your place?', title: e.title, when: whenText(e, now), where: whereText(e), text, isEvent: false, reason: '', problem: '', hasProblem: false, ...NO_PUPIL_CHECK };
}

/** "Cancel this TeachMeet?": who will be told, and the reason they will read. */
export function confirmCancelEventData(agg: Aggregate, now: Date, reason = '', problem = '', pupilData: readonly PupilDataWarning[] = []): ConfirmCardData {
  const e = agg.event;
  const told = [...agg.signUps.values()].filter((s) => s.status !== 'cancelled').length;
  const who = told === 0 ? 'Nobody has signed up yet.' : `${told === 1 ? 'The 1 person' : `All ${told} people`} signed up or waiting will be told, with your reason.`;
  const pupilCheck = { pupilWarning: pupilWarningText(pupilData, { reason: 'the reason' }, CANCEL_ANYWAY), pupilCheck: pupilData.length > 0, anywayTitle: CANCEL_ANYWAY };
  return { eventId: e.id, heading: 'Cancel this TeachMeet?', title: e.title, when: whenText(e, now), where: whereText(e), text: `${who} This cannot be undone.`, isEvent: true, reason, problem, hasProblem: !!problem, ...pupilCheck };
}

/** The cancellation notice's words, with the organiser's reason. */
export function cancelledText(e: TeachMeet): string {
  const reason = e.cancelReason.trim().replace(/[.!]+$/, '');
  return reason ? `The organiser has cancelled this TeachMeet: ${reason}. Sorry for any inconvenience.` : 'The organiser has cancelled this TeachMeet. Sorry for any inconvenience.';
}

/** The reminder for someone confirmed: what they are doing there, when and where, and the card's buttons. */
export function reminderFor(e: TeachMeet, s: SignUp, now: Date): Deadline {
  const talk = s.role === 'presenter' ? s.talk : undefined;
  return {
    id: reminderId(e.id, s.aadObjectId),
    capability: 'teachmeets',
    who: { kind: 'person', aadObjectId: s.aadObjectId, teamsId: s.teamsId, name: s.name },
    what: talk ? `You're presenting '${talk.title}' (${talk.slot} min) at ${e.title}` : `You're attending ${e.title}`,
    detail: `${whenText(e, now)} · ${whereText(e)}`,
    link: e.link.startsWith('https://') ? { title: 'Join online', url: e.link } : undefined,
    dueAt: e.startsAt,
    kind: 'reminder',
    essential: false,
    actions: [
      { title: 'Show the TeachMeet', verb: 'teachmeet.show', data: { eventId: e.id } },
      { title: 'Cancel my place', verb: 'teachmeet.cancel', data: { eventId: e.id } },
    ],
  };
}
