import type { Deadline } from '../platform/deadlines/types';
import { whenText, whereText } from './cards';
import type { SignUp, TeachMeet } from './model';

/**
 * The reminder the school day before a TeachMeet, as registered with the deadline registry (the nudges
 * capability sends it). Pure: when reminders start being kept, and what each one says.
 */

/** The durable timer, per event, due at `remindersFrom`: it registers the reminder for everyone confirmed. */
export const REMINDERS_TIMER = 'teachmeet.reminders';

/**
 * How long before the start reminders are kept in the registry. Before that, sign-ups and cancellations
 * leave the registry alone (a rush would otherwise cost four storage calls per confirmed place), and the
 * timer registers everyone confirmed at once. Long enough that the school day before is still ahead
 * even across the Christmas holiday (about two and a half weeks), since a reminder is never sent on the
 * day it was registered. The summer holiday is longer: for an event in the first days of the autumn
 * term the school day before is in July, more than 28 days earlier, so it gets no reminder (a reminder
 * six weeks ahead would hardly be one).
 */
export const REMINDER_LEAD_DAYS = 28;

const DAY_MS = 86_400_000;

/** From this moment reminders are registered for the event; before it, nothing is. */
export function remindersFrom(event: Pick<TeachMeet, 'startsAt'>): Date {
  return new Date(event.startsAt.getTime() - REMINDER_LEAD_DAYS * DAY_MS);
}

/** Whether reminders for the event are kept in the registry at `now` (not before `remindersFrom`). */
export function remindersKept(event: Pick<TeachMeet, 'startsAt'>, now: Date): boolean {
  return now.getTime() >= remindersFrom(event).getTime();
}

/** One person's reminder id: registering it again replaces it. */
export function reminderId(eventId: string, aadObjectId: string): string {
  return `teachmeet:${eventId}:reminder:${aadObjectId}`;
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
