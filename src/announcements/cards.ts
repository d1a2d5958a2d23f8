import type { School } from '../platform/directory/rules';
import { formatDayTime, formatTime, londonDate, londonTime } from '../platform/time';
import type { Announcement, Importance } from './model';
import { audienceChoices, audienceLabel, audienceValue, emptyValues, FORM_FIELDS, type Announcer, type FormErrors, type FormValues, type Report, type SchoolCount } from './rules';

/** Announcement domain → typed template data for cards/announce*.json. No Teams calls here. */

export interface MessageCardData {
  readonly announcementId: string;
  readonly partnership: string;
  readonly title: string;
  readonly hasTitle: boolean;
  /** The body, in Teams Markdown: written by someone allowed to announce, so kept as Markdown. */
  readonly textMarkdown: string;
  readonly link: string;
  readonly hasLink: boolean;
  readonly importance: string;
  readonly hasImportance: boolean;
  readonly importanceColour: 'Warning' | 'Attention' | 'Default';
  readonly from: string;
  readonly askAck: boolean;
  readonly mine: string;
  readonly hasMine: boolean;
}

const IMPORTANCE_LABEL: Record<Importance, string> = { normal: '', important: 'Important', urgent: 'Urgent' };

/** What every recipient sees (and the preview shows exactly). */
export function messageCardData(a: Announcement, partnership: string, mine = ''): MessageCardData {
  const role = a.author.role === 'coordinator' ? 'coordinator' : 'school rep';
  return {
    announcementId: a.id,
    partnership,
    title: a.title,
    hasTitle: !!a.title,
    textMarkdown: a.text,
    link: a.link,
    hasLink: !!a.link,
    importance: IMPORTANCE_LABEL[a.importance],
    hasImportance: a.importance !== 'normal',
    importanceColour: a.importance === 'urgent' ? 'Attention' : a.importance === 'important' ? 'Warning' : 'Default',
    from: `From ${a.author.name || 'the partnership'}, ${role}`,
    askAck: a.askAck,
    mine,
    hasMine: !!mine,
  };
}

export interface ComposeCardData {
  readonly heading: string;
  readonly draftId: string;
  readonly values: FormValues;
  readonly errors: Record<string, string>;
  readonly hasErrors: boolean;
  readonly problem: string;
  readonly pupilCheck: boolean;
  readonly previewAnyway: string;
  readonly hasProblem: boolean;
  readonly audienceChoices: { title: string; value: string }[];
  readonly importanceChoices: { title: string; value: string }[];
  readonly isRep: boolean;
}

/** The compose card's second button when the text may name a pupil. */
export const PREVIEW_ANYWAY = 'Preview anyway: it is not a pupil';

export function composeCardData(opts: { person: Announcer; schools: readonly School[]; values?: Partial<FormValues>; errors?: FormErrors; draftId?: string; problem?: string; pupilCheck?: boolean }): ComposeCardData {
  const values = { ...emptyValues(), ...(opts.values ?? {}) } as FormValues;
  const choices = audienceChoices(opts.person, opts.schools);
  if (!values.audience && choices.length === 1) values.audience = choices[0]!.value;
  return {
    heading: opts.draftId ? 'Edit the announcement' : 'New announcement',
    draftId: opts.draftId ?? '',
    values,
    errors: Object.fromEntries(FORM_FIELDS.map((f) => [f, opts.errors?.[f] ?? ''])),
    hasErrors: Object.values(opts.errors ?? {}).some((e) => !!e),
    problem: opts.problem ?? '',
    hasProblem: !!opts.problem,
    pupilCheck: opts.pupilCheck ?? false,
    previewAnyway: PREVIEW_ANYWAY,
    audienceChoices: choices,
    importanceChoices: [
      { title: 'Normal', value: 'normal' },
      { title: 'Important', value: 'important' },
      { title: 'Urgent (alerts people)', value: 'urgent' },
    ],
    isRep: !opts.person.isCoordinator,
  };
}

export function valuesOf(a: Announcement): FormValues {
  return {
    title: a.title,
    text: a.text,
    link: a.link,
    audience: audienceValue(a.audience),
    importance: a.importance,
    ack: a.askAck ? 'true' : 'false',
    sendDate: a.sendAt ? londonDate(a.sendAt) : '',
    sendTime: a.sendAt ? londonTime(a.sendAt) : '',
  };
}

type CardJson = { body?: unknown[]; actions?: unknown[] };

export interface PreviewCardData {
  readonly announcementId: string;
  readonly version: number;
  readonly audience: string;
  readonly when: string;
  readonly message: unknown[];
  readonly messageActions: unknown[];
  readonly hasMessageActions: boolean;
  readonly counts: SchoolCount[];
  readonly hasCounts: boolean;
  readonly total: string;
  readonly unreachable: { text: string }[];
  readonly hasUnreachable: boolean;
  readonly confirmEveryone: boolean;
  readonly notConfirm: boolean;
  readonly confirmText: string;
  readonly sendTitle: string;
  readonly canSend: boolean;
}

/** The preview: the recipients' card itself, embedded, and who gets it, school by school. */
export function previewCardData(a: Announcement, message: CardJson, counts: SchoolCount[], unreachable: string[], now: Date, confirmEveryone: boolean, schoolName: (id: string) => string): PreviewCardData {
  const total = counts.reduce((n, c) => n + c.total, 0);
  return {
    announcementId: a.id,
    version: a.version,
    audience: audienceLabel(a.audience, schoolName),
    when: a.sendAt ? `Scheduled: ${formatDayTime(a.sendAt, now)} (UK time)` : 'As soon as you press Send',
    message: message.body ?? [],
    messageActions: message.actions ?? [],
    hasMessageActions: (message.actions ?? []).length > 0,
    counts,
    hasCounts: counts.length > 0,
    total: total === 1 ? '1 conversation in all' : `${total} conversations in all`,
    unreachable: unreachable.map((text) => ({ text })),
    hasUnreachable: unreachable.length > 0,
    confirmEveryone,
    notConfirm: !confirmEveryone,
    confirmText: `This goes to everyone who has installed Together: ${total} conversations (personal chats, group chats and teams). Are you sure?`,
    sendTitle: a.sendAt ? 'Schedule' : 'Send',
    canSend: total > 0,
  };
}

export interface ReportCardData {
  readonly announcementId: string;
  readonly heading: string;
  readonly statusLine: string;
  readonly statusColour: 'Good' | 'Warning' | 'Attention' | 'Default';
  readonly audience: string;
  readonly message: unknown[];
  readonly rows: { school: string; sent: string; pending: string; failed: string; acks: string }[];
  readonly hasRows: boolean;
  readonly total: { sent: string; pending: string; failed: string; acks: string };
  readonly showAcks: boolean;
  readonly notSentLine: string;
  readonly hasNotSent: boolean;
  readonly canCancel: boolean;
  readonly hasFailures: boolean;
  readonly updated: string;
}

/** The coordinator's copy: the announcement with its live delivery report. */
export function reportCardData(a: Announcement, message: CardJson, r: Report | undefined, now: Date, schoolName: (id: string) => string): ReportCardData {
  const t = r?.total;
  let statusLine: string;
  let statusColour: ReportCardData['statusColour'] = 'Default';
  switch (a.status) {
    case 'draft':
      statusLine = 'Not sent yet (a draft).';
      break;
    case 'scheduled':
      statusLine = `Scheduled for ${a.sendAt ? formatDayTime(a.sendAt, now) : 'later'} (UK time). Nothing has been sent yet.`;
      statusColour = 'Warning';
      break;
    case 'sending':
      statusLine = !a.dispatched || !t ? 'Sending: working out the recipients…' : `Sending: ${t.sent} of ${a.recipients} sent so far${t.failed ? `, ${t.failed} failed` : ''}.`;
      statusColour = 'Warning';
      break;
    case 'done':
      statusLine = t && t.failed > 0 ? `Sent to ${t.sent} of ${a.recipients}; ${t.failed} could not be reached.` : (t?.sent ?? a.recipients) === 1 ? 'Sent to its one recipient.' : `Sent to all ${t?.sent ?? a.recipients}.`;
      statusColour = t && t.failed > 0 ? 'Attention' : 'Good';
      break;
    case 'cancelled':
      statusLine = `Cancelled${a.cancelledAt ? ` at ${formatTime(a.cancelledAt)}` : ''}${a.cancelledBy ? ` by ${a.cancelledBy}` : ''}. ${t ? `${t.sent} had been sent; the rest were not.` : 'Nothing was sent.'}`;
      statusColour = 'Attention';
      break;
  }
  const n = (v: number) => String(v);
  return {
    announcementId: a.id,
    heading: `Your announcement${a.title ? `: ${a.title}` : ''}`,
    statusLine,
    statusColour,
    audience: `${audienceLabel(a.audience, schoolName)}${a.sentAt ? `, sent ${formatDayTime(a.sentAt, now)}` : ''}`,
    message: message.body ?? [],
    rows: (r?.rows ?? []).map((row) => ({ school: row.school, sent: n(row.sent), pending: n(row.pending), failed: n(row.failed), acks: n(row.acks) })),
    hasRows: (r?.rows ?? []).length > 0,
    total: { sent: n(t?.sent ?? 0), pending: n(t?.pending ?? 0), failed: n(t?.failed ?? 0), acks: n(t?.acks ?? 0) },
    showAcks: a.askAck,
    notSentLine: t && t.notSent > 0 ? `${t.notSent} not sent (cancelled).` : '',
    hasNotSent: !!t && t.notSent > 0,
    canCancel: a.status === 'scheduled' || a.status === 'sending',
    hasFailures: !!t && t.failed > 0,
    updated: `Updated ${formatTime(now)}`,
  };
}

export interface ListCardData {
  readonly items: { announcementId: string; title: string; status: string; when: string; audience: string }[];
  readonly hasItems: boolean;
}

export function listItem(a: Announcement, now: Date, schoolName: (id: string) => string, counts?: { sent: number; failed: number }): ListCardData['items'][number] {
  const status =
    a.status === 'scheduled'
      ? 'Scheduled'
      : a.status === 'sending'
        ? `Sending (${counts?.sent ?? 0} of ${a.recipients})`
        : a.status === 'done'
          ? `Sent to ${counts?.sent ?? a.recipients}${counts?.failed ? `, ${counts.failed} failed` : ''}`
          : a.status === 'cancelled'
            ? 'Cancelled'
            : 'Draft';
  const when = a.status === 'scheduled' && a.sendAt ? formatDayTime(a.sendAt, now) : a.sentAt ? formatDayTime(a.sentAt, now) : formatDayTime(a.createdAt, now);
  return { announcementId: a.id, title: a.title || a.text.slice(0, 60) + (a.text.length > 60 ? '…' : ''), status, when, audience: audienceLabel(a.audience, schoolName) };
}

export interface FailuresCardData {
  readonly heading: string;
  readonly rows: { school: string; recipient: string; reason: string }[];
  readonly hasRows: boolean;
  readonly more: string;
  readonly hasMore: boolean;
  readonly csvUrl: string;
  readonly validFor: string;
  /** Failures whose delivery records retention has purged: counted in the report, no longer named. */
  readonly purged: string;
  readonly hasPurged: boolean;
}

/** Said on the failures card when `n` failed deliveries' records have been purged (`listed` others are still named). */
export function purgedFailuresText(n: number, listed: number): string {
  if (n === 0) return '';
  const who = n === 1 ? 'it was' : 'they were';
  return `${listed > 0 ? `${n} more` : String(n)} could not be reached, but who ${who} is no longer kept: delivery records are deleted after the partnership's retention period.`;
}

/** Said to someone pressing Got it on an announcement that was not sent to them (nothing of it is shown). */
export const NOT_SENT_TO_YOU = 'That announcement was not sent to you, so there is nothing to acknowledge.';
