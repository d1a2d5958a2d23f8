import type { StoredDeadline } from '../platform/deadlines/store';
import { formatDayTime } from '../platform/time';
import type { Policy, SnoozeOption } from './model';
import { byUrgency, dueText, headline, isMutedBy, snoozeChoices, urgency } from './rules';

/** Domain -> typed data for cards/nudgeDigest.json and cards/nudgeDeadlines.json (no Teams calls). */

/** At most this many items (each with its buttons) and escalations (a line each) in one message, to stay well under Teams' size limit; the rest come the next day. */
export const MAX_DIGEST_ITEMS = 8;
export const MAX_DIGEST_ESCALATIONS = 15;

interface ButtonData {
  readonly verb: string;
  readonly [key: string]: string;
}

export interface DigestItemData {
  readonly headline: string;
  readonly urgency: string;
  readonly detail: string;
  readonly hasDetail: boolean;
  readonly state: string;
  readonly hasState: boolean;
  readonly actions: { title: string; verb: string; data: ButtonData }[];
  readonly link: string;
  readonly linkTitle: string;
  readonly hasLink: boolean;
  readonly snoozeDay: ButtonData;
  readonly hasSnoozeDay: boolean;
  readonly snoozeBefore: ButtonData;
  readonly snoozeBeforeTitle: string;
  readonly hasSnoozeBefore: boolean;
  readonly stop: ButtonData;
  readonly hasStop: boolean;
  readonly hasButtons: boolean;
}

export interface DigestCardData {
  readonly title: string;
  readonly partnership: string;
  readonly notice: string;
  readonly hasNotice: boolean;
  readonly escalations: { text: string }[];
  readonly hasEscalations: boolean;
  readonly items: DigestItemData[];
}

export interface DigestInput {
  readonly nudges: readonly StoredDeadline[];
  readonly escalations: readonly StoredDeadline[];
  /** Entra id of the person the card is for. */
  readonly viewer: string;
  readonly now: Date;
  readonly policy: Policy;
  readonly partnership: string;
  schoolName(id: string): string;
  /** The London day of the message (on its buttons, so a press can show that day's card again in its new state). */
  readonly day: string;
  /** A line at the top, e.g. what a Snooze press did. */
  readonly notice?: string;
}

/** Who an item is waiting on, as a coordinator reads it: the school, or the person. */
export function whoText(item: StoredDeadline, schoolName: (id: string) => string): string {
  if (item.who.kind === 'schoolReps') return schoolName(item.who.schoolId) || 'A school no longer in the directory';
  return item.who.name || 'Someone';
}

export function digestCardData(input: DigestInput): DigestCardData {
  const { now, viewer } = input;
  const nudges = [...input.nudges].sort(byUrgency);
  const escalations = [...input.escalations].sort(byUrgency);
  const day = input.day;

  const items = nudges.map((item): DigestItemData => {
    const open = item.status === 'open';
    const muted = isMutedBy(item, viewer);
    const snoozed = open && item.progress.snoozedUntil && new Date(item.progress.snoozedUntil) > now ? new Date(item.progress.snoozedUntil) : undefined;
    const state =
      item.status === 'completed' ? 'Done.' : item.status === 'cancelled' ? 'No longer needed.' : muted ? "You won't be reminded about this again." : snoozed ? `Snoozed until ${formatDayTime(snoozed, now)}.` : '';
    const choices = open && !snoozed ? snoozeChoices(item, input.policy, now) : {};
    const snoozeData = (until: SnoozeOption): ButtonData => ({ verb: 'nudge.snooze', deadlineId: item.id, until, day });
    const actions = open ? item.actions.map((a) => ({ title: a.title, verb: a.verb, data: { ...a.data, verb: a.verb } })) : [];
    const hasLink = open && !!item.link;
    const hasStop = open && !item.essential && item.kind !== 'reminder' && !muted;
    return {
      headline: headline(item, now),
      urgency: item.status === 'open' ? urgency(item, now) : '',
      detail: item.detail ?? '',
      hasDetail: !!item.detail,
      state,
      hasState: state !== '',
      actions,
      link: item.link?.url ?? '',
      linkTitle: item.link?.title ?? '',
      hasLink,
      snoozeDay: snoozeData('day'),
      hasSnoozeDay: !!choices.day,
      snoozeBefore: snoozeData('dayBefore'),
      snoozeBeforeTitle: choices.dayBefore ? `Snooze until ${formatDayTime(choices.dayBefore, now).split(',')[0]}` : 'Snooze',
      hasSnoozeBefore: !!choices.dayBefore,
      stop: { verb: 'nudge.stop', deadlineId: item.id, day },
      hasStop,
      hasButtons: actions.length > 0 || hasLink || !!choices.day || !!choices.dayBefore || hasStop,
    };
  });

  const escalationLines = escalations.map((item) => {
    const after = item.status === 'completed' ? ' (done now)' : item.status === 'cancelled' ? ' (withdrawn since)' : '';
    return { text: `${whoText(item, input.schoolName)}: ${item.what}, was due ${dueText(item.dueAt, now)}${after}` };
  });

  const title =
    nudges.length === 0 ? 'Overdue in the partnership' : nudges.length === 1 ? 'A reminder from Together' : `${nudges.length} reminders from Together, most urgent first`;
  return {
    title,
    partnership: input.partnership,
    notice: input.notice ?? '',
    hasNotice: !!input.notice,
    escalations: escalationLines,
    hasEscalations: escalationLines.length > 0,
    items,
  };
}

export interface DeadlinesCardData {
  readonly partnership: string;
  readonly summary: string;
  readonly hasItems: boolean;
  readonly groups: { name: string; lines: { text: string; when: string; color: string }[] }[];
  readonly more: string;
  readonly hasMore: boolean;
}

const MAX_LINES = 60;

/** The coordinators' view: open deadlines by school (then people), overdue ones marked, soonest first. */
export function deadlinesCardData(open: readonly StoredDeadline[], now: Date, schoolName: (id: string) => string, partnership: string): DeadlinesCardData {
  const items = open.filter((i) => i.status === 'open' && i.kind === 'deadline').sort(byUrgency);
  const overdue = items.filter((i) => i.dueAt <= now).length;
  const groups = new Map<string, { name: string; lines: { text: string; when: string; color: string }[] }>();
  let shown = 0;
  for (const item of items) {
    if (shown >= MAX_LINES) break;
    const schoolId = item.who.kind === 'schoolReps' ? item.who.schoolId : item.schoolId;
    const key = schoolId ? `school:${schoolId}` : 'people';
    const name = schoolId ? schoolName(schoolId) || 'A school no longer in the directory' : 'People';
    let group = groups.get(key);
    if (!group) {
      group = { name, lines: [] };
      groups.set(key, group);
    }
    const late = item.dueAt <= now;
    const snoozed = item.progress.snoozedUntil && new Date(item.progress.snoozedUntil) > now ? ` · snoozed until ${formatDayTime(new Date(item.progress.snoozedUntil), now)}` : '';
    const prefix = item.who.kind === 'person' ? `${item.who.name || 'Someone'}: ` : '';
    group.lines.push({
      text: `${prefix}${item.what}`,
      when: late ? `Overdue: was due ${dueText(item.dueAt, now)}${item.progress.escalated ? ' · coordinators told' : ''}` : `Due ${dueText(item.dueAt, now)}${snoozed}`,
      color: late ? 'Attention' : 'Default',
    });
    shown += 1;
  }
  const sorted = [...groups.entries()].sort(([a, x], [b, y]) => (a === 'people' ? 1 : b === 'people' ? -1 : x.name.localeCompare(y.name, 'en-GB'))).map(([, g]) => g);
  return {
    partnership,
    summary: items.length === 0 ? 'Nothing is waiting on anyone.' : `${overdue} overdue, ${items.length - overdue} coming up.`,
    hasItems: items.length > 0,
    groups: sorted,
    more: `…and ${items.length - shown} more.`,
    hasMore: items.length > shown,
  };
}
