import { findSchool, type School } from '../platform/directory/rules';
import { spreadsheetCsv } from '../platform/downloads';
import { encodeKey } from '../platform/storage/tables';
import { londonToInstant } from '../platform/time';
import { isHttpsUrl } from '../platform/urls';
import type { Announcement, Audience, ConversationKind, DeliveryCounts, Endpoint, Importance, KeptCounts, Recipient, RecipientRow, RecipientState, Status, Target } from './model';

/**
 * Announcement rules. Pure: who may announce to whom, what a compose form must hold, who an
 * audience reaches (from a snapshot of the directory and the stored conversations), how a delivery
 * report adds up, and the failures CSV. No I/O, no clock: `now` is passed in.
 */

// ------------------------------------------------------------------------------------------------
// Audiences

export function audienceValue(a: Audience): string {
  return a.kind === 'school' ? `school:${a.schoolId}` : a.kind;
}

/** The audience a card or short form names; undefined when it names none we know (or an unknown school). */
export function parseAudience(value: string, schools: readonly School[]): Audience | undefined {
  const v = value.trim();
  if (v === 'schools' || v === 'announcements' || v === 'reps' || v === 'everyone') return { kind: v };
  if (v.startsWith('school:')) {
    const id = v.slice('school:'.length);
    return schools.some((s) => s.id === id) ? { kind: 'school', schoolId: id } : undefined;
  }
  return undefined;
}

export function audienceLabel(a: Audience, schoolName: (id: string) => string): string {
  switch (a.kind) {
    case 'schools':
      return "All partner schools' channels";
    case 'announcements':
      return "The partnership's announcements channel";
    case 'reps':
      return 'All school reps (personal chats)';
    case 'school':
      return `${schoolName(a.schoolId) || 'A school'}: its channel and its reps`;
    case 'everyone':
      return 'Everyone who has installed Together';
  }
}

/** The choices a person may pick from on the compose card. */
export function audienceChoices(person: Announcer, schools: readonly School[]): { title: string; value: string }[] {
  const name = (id: string) => schools.find((s) => s.id === id)?.name ?? '';
  if (!person.isCoordinator) {
    return person.schoolId && schools.some((s) => s.id === person.schoolId) ? [{ title: audienceLabel({ kind: 'school', schoolId: person.schoolId }, name), value: `school:${person.schoolId}` }] : [];
  }
  const fixed: Audience[] = [{ kind: 'schools' }, { kind: 'announcements' }, { kind: 'reps' }];
  return [
    ...fixed.map((a) => ({ title: audienceLabel(a, name), value: audienceValue(a) })),
    ...schools.map((s) => ({ title: audienceLabel({ kind: 'school', schoolId: s.id }, name), value: `school:${s.id}` })),
    { title: audienceLabel({ kind: 'everyone' }, name), value: 'everyone' },
  ];
}

// ------------------------------------------------------------------------------------------------
// Who may announce

export interface Announcer {
  readonly isCoordinator: boolean;
  readonly isRep: boolean;
  readonly schoolId?: string;
}

/** Coordinators announce to anyone; a rep to their own school only, when the partnership allows it. */
export function mayAnnounce(person: Announcer, audience: Audience | undefined, repsMayAnnounce: boolean): { ok: true } | { ok: false; message: string } {
  if (person.isCoordinator) return { ok: true };
  if (!person.isRep) return { ok: false, message: 'Only coordinators (and, if the partnership allows it, school reps for their own school) can post announcements.' };
  if (!repsMayAnnounce) return { ok: false, message: 'Reps cannot post announcements in this partnership: a coordinator can allow it with `rep announcements on`.' };
  if (!person.schoolId) return { ok: false, message: "You're a rep without a school in the directory, so there's no school to announce to. Ask a coordinator." };
  if (audience && !(audience.kind === 'school' && audience.schoolId === person.schoolId)) {
    return { ok: false, message: 'As a rep you can announce to your own school only (its channel and its reps).' };
  }
  return { ok: true };
}

// ------------------------------------------------------------------------------------------------
// The compose form

export const FORM_FIELDS = ['title', 'text', 'link', 'audience', 'importance', 'ack', 'sendDate', 'sendTime'] as const;
export type FormField = (typeof FORM_FIELDS)[number];
export type FormValues = Record<FormField, string>;
export type FormErrors = Partial<Record<FormField, string>>;

export const IMPORTANCE: readonly Importance[] = ['normal', 'important', 'urgent'];
/** The longest text a compose form may carry; Teams' own limit (below) is checked on the finished card. */
export const MAX_TEXT_CHARS = 20_000;
export const MAX_TITLE_CHARS = 120;
/** Teams refuses a message over about 28 KB (the whole activity, card included). */
export const MAX_MESSAGE_BYTES = 28_000;
/** How far ahead an announcement may be scheduled. */
export const MAX_SCHEDULE_DAYS = 366;

/** What the compose form decides: an announcement's own fields, before it has an id, author or status. */
export type Draft = Pick<Announcement, 'title' | 'text' | 'link' | 'audience' | 'importance' | 'askAck' | 'sendAt'>;

export type Checked = { ok: true; draft: Draft } | { ok: false; errors: FormErrors };

export function emptyValues(): FormValues {
  return { title: '', text: '', link: '', audience: '', importance: 'normal', ack: 'false', sendDate: '', sendTime: '' };
}

export function checkDraft(values: Partial<FormValues>, ctx: { schools: readonly School[]; person: Announcer; repsMayAnnounce: boolean; now: Date }): Checked {
  const v = Object.fromEntries(FORM_FIELDS.map((f) => [f, (values[f] ?? '').trim()])) as FormValues;
  const errors: FormErrors = {};

  if (v.title.length > MAX_TITLE_CHARS) errors.title = `Keep the title to ${MAX_TITLE_CHARS} characters.`;
  if (!v.text) errors.text = "Write the announcement's text.";
  else if (v.text.length > MAX_TEXT_CHARS) errors.text = `That is too long for a Teams message (${v.text.length.toLocaleString('en-GB')} characters): keep it under ${MAX_TEXT_CHARS.toLocaleString('en-GB')}.`;

  if (v.link) {
    if (!isHttpsUrl(v.link)) errors.link = 'The link must be a full https:// address.';
  }

  const audience = v.audience ? parseAudience(v.audience, ctx.schools) : undefined;
  if (!audience) errors.audience = v.audience ? "I don't know that audience (or that school is no longer in the directory): choose who it goes to." : 'Choose who it goes to.';
  else {
    const allowed = mayAnnounce(ctx.person, audience, ctx.repsMayAnnounce);
    if (!allowed.ok) errors.audience = allowed.message;
  }

  const importance = (IMPORTANCE as readonly string[]).includes(v.importance || 'normal') ? ((v.importance || 'normal') as Importance) : undefined;
  if (!importance) errors.importance = 'Choose normal, important or urgent.';
  if (v.ack && v.ack !== 'true' && v.ack !== 'false') errors.ack = 'Tick the box or leave it.';

  let sendAt: Date | undefined;
  if (v.sendDate || v.sendTime) {
    if (!v.sendDate) errors.sendDate = 'Choose the day to send it (or clear the time to send it now).';
    else if (!v.sendTime) errors.sendTime = 'Choose the time to send it (UK time).';
    else {
      sendAt = londonToInstant(v.sendDate, v.sendTime);
      if (!sendAt) errors.sendDate = 'Choose a real date and time.';
      else if (sendAt.getTime() <= ctx.now.getTime()) errors.sendDate = 'That send time is in the past: choose a later one, or clear it to send now.';
      else if (sendAt.getTime() - ctx.now.getTime() > MAX_SCHEDULE_DAYS * 86_400_000) errors.sendDate = 'Schedule it within the next year.';
    }
  }

  if (Object.keys(errors).length > 0 || !audience || !importance) return { ok: false, errors };
  return { ok: true, draft: { title: v.title, text: v.text, link: v.link, audience, importance, askAck: v.ack === 'true', sendAt } };
}

/** The problem with a finished message's size, if any (`bytes` of the whole activity as sent). */
export function sizeProblem(bytes: number): string | undefined {
  if (bytes <= MAX_MESSAGE_BYTES) return undefined;
  const over = bytes - MAX_MESSAGE_BYTES;
  return `That is too long for one Teams message: about ${Math.ceil(bytes / 1024)} KB as a card, and Teams takes about ${Math.floor(MAX_MESSAGE_BYTES / 1024)} KB. Shorten it by about ${Math.ceil(over / 100) * 100} characters, or put the detail behind a link.`;
}

/**
 * The short form `announce reps: Deadline for STEM Week proposals is Friday`: who, a colon, the text.
 * Who is `reps`, `schools`, `announcements`, `everyone` or a school's name.
 */
export function parseShortForm(input: string, schools: readonly School[]): { ok: true; audience: Audience; text: string } | { ok: false; message: string; text: string } {
  const colon = input.indexOf(':');
  if (colon < 0) return { ok: false, message: 'Say who it goes to before a colon, e.g. `announce reps: Deadline for STEM Week proposals is Friday`.', text: input.trim() };
  const who = input.slice(0, colon).trim().replace(/\s+/g, ' ');
  const text = input.slice(colon + 1).trim();
  const key = who.toLowerCase();
  const words: Record<string, Audience> = {
    reps: { kind: 'reps' },
    'all reps': { kind: 'reps' },
    schools: { kind: 'schools' },
    'all schools': { kind: 'schools' },
    announcements: { kind: 'announcements' },
    everyone: { kind: 'everyone' },
  };
  const fixed = words[key];
  if (fixed) return { ok: true, audience: fixed, text };
  const school = who ? findSchool(schools, who) : undefined;
  if (school) return { ok: true, audience: { kind: 'school', schoolId: school.id }, text };
  const names = schools.map((s) => s.name).join(', ');
  return {
    ok: false,
    message: `I don't know who "${who.slice(0, 60)}" is. Say \`reps\`, \`schools\`, \`announcements\`, \`everyone\` or a school's name${names ? ` (${names})` : ''}, then a colon and the text.`,
    text,
  };
}

// ------------------------------------------------------------------------------------------------
// Resolving an audience to recipient conversations

/** A stored conversation reference, as much of it as sending needs. */
export interface StoredRef extends Endpoint {
  readonly conversationId: string;
  readonly conversationKind: ConversationKind;
  readonly label: string;
  readonly teamId?: string;
}

export interface ChannelRoleRef {
  readonly role: { kind: 'announcements' } | { kind: 'reps' } | { kind: 'school'; schoolId: string };
  readonly conversationId: string;
  readonly label: string;
}

export interface AudienceSnapshot {
  readonly schools: readonly School[];
  readonly reps: readonly { aadObjectId: string; name: string; schoolId?: string }[];
  readonly channels: readonly ChannelRoleRef[];
  /** Stored channel and group-chat references by conversation id. */
  readonly chats: ReadonlyMap<string, StoredRef>;
  /** Stored personal chats by Entra object id. */
  readonly personal: ReadonlyMap<string, StoredRef>;
  /** Each person's school, for people reached in their personal chat (everyone). */
  readonly schoolOf: ReadonlyMap<string, string>;
  /** A conversation in the tenant, to open a personal chat with a rep who has none; undefined when there is none. */
  readonly via?: Endpoint;
}

export interface Resolution {
  readonly recipients: Recipient[];
  /** Who was meant but cannot be reached, in words for the preview. */
  readonly unreachable: string[];
}

/** A recipient conversation's key: its id encoded as the platform encodes ids in keys (erasure finds it there: see inventory.ts). */
export function conversationKey(conversationId: string): string {
  return `r|c|${encodeKey(conversationId)}`;
}

export function personKey(aadObjectId: string): string {
  return `r|p|${aadObjectId.toLowerCase()}`;
}

function toConversation(ref: StoredRef, schoolId: string, label?: string): Recipient {
  const target: Target = { kind: 'conversation', conversationId: ref.conversationId, conversationKind: ref.conversationKind, serviceUrl: ref.serviceUrl, tenantId: ref.tenantId, botId: ref.botId };
  return { key: conversationKey(ref.conversationId), label: label || ref.label || ref.conversationId, schoolId, target };
}

/** Who an audience reaches: one recipient per conversation (nobody twice), each counted for a school. */
export function resolveAudience(audience: Audience, s: AudienceSnapshot): Resolution {
  const recipients = new Map<string, Recipient>();
  const unreachable: string[] = [];
  const schoolName = (id: string) => s.schools.find((x) => x.id === id)?.name ?? 'a school no longer in the directory';
  const add = (r: Recipient) => {
    if (!recipients.has(r.key)) recipients.set(r.key, r);
  };

  const channel = (role: ChannelRoleRef['role'], missing: string, schoolId: string) => {
    const assigned = s.channels.find((c) => c.role.kind === role.kind && (role.kind !== 'school' || (c.role.kind === 'school' && c.role.schoolId === role.schoolId)));
    const ref = assigned ? s.chats.get(assigned.conversationId) : undefined;
    if (!assigned) unreachable.push(missing);
    else if (!ref) unreachable.push(`${assigned.label || 'A channel'}: I have no way to post there yet (add Together to that team again).`);
    else add(toConversation(ref, schoolId, assigned.label));
  };

  const repsOf = (filter: (schoolId: string | undefined) => boolean) => {
    for (const rep of s.reps.filter((r) => filter(r.schoolId))) {
      const schoolId = rep.schoolId ?? '';
      const chat = s.personal.get(rep.aadObjectId.toLowerCase());
      if (chat) add(toConversation(chat, schoolId, `${rep.name || 'A rep'} (rep)`));
      else if (s.via) {
        add({ key: personKey(rep.aadObjectId), label: `${rep.name || 'A rep'} (rep, new chat)`, schoolId, target: { kind: 'person', aadObjectId: rep.aadObjectId.toLowerCase(), name: rep.name, ...s.via } });
      } else unreachable.push(`${rep.name || 'A rep'} (rep) has no chat with Together yet, and I have no conversation to open one from.`);
    }
  };

  switch (audience.kind) {
    case 'announcements':
      channel({ kind: 'announcements' }, "There is no announcements channel yet: type `channel announcements` in the channel you want (in a team with Together).", '');
      break;
    case 'schools':
      if (s.schools.length === 0) unreachable.push('There are no schools in the directory yet.');
      for (const school of s.schools) channel({ kind: 'school', schoolId: school.id }, `${school.name} has no school channel yet: type \`channel school ${school.name}\` in its channel.`, school.id);
      break;
    case 'reps':
      if (s.reps.length === 0) unreachable.push('There are no reps in the directory yet.');
      repsOf(() => true);
      break;
    case 'school': {
      const name = schoolName(audience.schoolId);
      channel({ kind: 'school', schoolId: audience.schoolId }, `${name} has no school channel yet: type \`channel school ${name}\` in its channel.`, audience.schoolId);
      if (!s.reps.some((r) => r.schoolId === audience.schoolId)) unreachable.push(`${name} has no reps in the directory.`);
      repsOf((id) => id === audience.schoolId);
      break;
    }
    case 'everyone': {
      for (const [aad, ref] of [...s.personal.entries()].sort((a, b) => a[0].localeCompare(b[0]))) add(toConversation(ref, s.schoolOf.get(aad) ?? '', ref.label || 'A person'));
      const teams = new Map<string, StoredRef[]>();
      for (const ref of s.chats.values()) {
        if (ref.conversationKind === 'groupChat') add(toConversation(ref, '', ref.label || 'Group chat'));
        else if (ref.conversationKind === 'channel') {
          const team = ref.teamId || ref.conversationId;
          teams.set(team, [...(teams.get(team) ?? []), ref]);
        }
      }
      // One post per team (its General channel, whose id is the team's), not one per channel it was used in.
      for (const [team, refs] of teams) {
        const roles = refs.map((r) => s.channels.find((c) => c.conversationId === r.conversationId)).filter((c) => c !== undefined);
        const schoolRole = roles.find((c) => c.role.kind === 'school');
        const chosen = refs.find((r) => r.conversationId === team) ?? refs.find((r) => roles.some((c) => c.conversationId === r.conversationId)) ?? [...refs].sort((a, b) => a.conversationId.localeCompare(b.conversationId))[0]!;
        add(toConversation(chosen, schoolRole && schoolRole.role.kind === 'school' ? schoolRole.role.schoolId : '', chosen.label));
      }
      if (recipients.size === 0) unreachable.push('Nobody has installed Together yet.');
      break;
    }
  }
  return { recipients: [...recipients.values()], unreachable };
}

// ------------------------------------------------------------------------------------------------
// Counting: the preview's recipients per school, and the delivery report

export const NO_SCHOOL = 'Partnership-wide / no school';

export interface SchoolCount {
  readonly school: string;
  readonly channels: number;
  readonly people: number;
  readonly total: number;
}

/** Recipients per school (schools in directory order, then the rest), for the preview. */
export function recipientCounts(recipients: readonly Recipient[], schools: readonly School[]): SchoolCount[] {
  const rows = new Map<string, { channels: number; people: number }>();
  for (const r of recipients) {
    const row = rows.get(r.schoolId) ?? { channels: 0, people: 0 };
    const personal = r.target.kind === 'person' || r.target.conversationKind === 'personal';
    if (personal) row.people += 1;
    else row.channels += 1;
    rows.set(r.schoolId, row);
  }
  return orderBySchool(rows, schools).map(([school, c]) => ({ school, channels: c.channels, people: c.people, total: c.channels + c.people }));
}

function orderBySchool<T>(rows: Map<string, T>, schools: readonly School[]): [string, T][] {
  const out: [string, T][] = [];
  for (const school of schools) {
    const row = rows.get(school.id);
    if (row) out.push([school.name, row]);
  }
  const other = [...rows.entries()].filter(([id]) => id && !schools.some((s) => s.id === id));
  if (other.length > 0) out.push(['A school no longer in the directory', other.map(([, r]) => r).reduce((a, b) => mergeCounts(a, b))]);
  const none = rows.get('');
  if (none) out.push([NO_SCHOOL, none]);
  return out;
}

function mergeCounts<T>(a: T, b: T): T {
  const out = { ...a } as Record<string, number>;
  for (const [k, v] of Object.entries(b as Record<string, number>)) out[k] = (out[k] ?? 0) + v;
  return out as T;
}

export interface ReportRow {
  readonly school: string;
  readonly sent: number;
  readonly pending: number;
  readonly failed: number;
  /** Not sent because the announcement was cancelled. */
  readonly notSent: number;
  readonly acks: number;
}

export interface Report {
  readonly rows: ReportRow[];
  readonly total: ReportRow;
  /** Nobody is waiting to be sent to. */
  readonly finished: boolean;
}

/** Which count of the report a recipient's row is in: when the announcement is cancelled, one still pending is not going to be sent. */
function deliveryCount(state: RecipientState, status: Status): keyof DeliveryCounts {
  if (state === 'sent') return 'sent';
  if (state === 'failed') return 'failed';
  if (state === 'cancelled' || status === 'cancelled') return 'notSent';
  return 'pending';
}

/**
 * The counts recipients' rows leave behind when retention purges them (added to those kept already),
 * so the report of an old announcement stays as it was.
 */
export function keepCounts(kept: KeptCounts, rows: readonly Pick<RecipientRow, 'schoolId' | 'state'>[], status: Status): KeptCounts {
  const out: Record<string, DeliveryCounts> = { ...kept };
  for (const r of rows) {
    const c = out[r.schoolId] ?? { sent: 0, pending: 0, failed: 0, notSent: 0 };
    const which = deliveryCount(r.state, status);
    out[r.schoolId] = { ...c, [which]: c[which] + 1 };
  }
  return out;
}

/**
 * The delivery report: sent, pending, failed and not sent (cancelled) per school, with the
 * acknowledgements per school (each person once: acks are keyed by person). When the announcement
 * is cancelled, recipients still pending are not going to be sent to, so they count as not sent.
 * `kept` holds what recipients' rows purged by retention counted.
 */
export function report(rows: readonly Pick<RecipientRow, 'schoolId' | 'state'>[], acks: readonly { schoolId: string }[], schools: readonly School[], status: Status, kept: KeptCounts = {}): Report {
  type Counts = DeliveryCounts & { acks: number };
  const zero = (): Counts => ({ sent: 0, pending: 0, failed: 0, notSent: 0, acks: 0 });
  const by = new Map<string, Counts>();
  for (const [schoolId, c] of Object.entries(keepCounts(kept, rows, status))) by.set(schoolId, { ...c, acks: 0 });
  for (const a of acks) by.set(a.schoolId, { ...(by.get(a.schoolId) ?? zero()), acks: (by.get(a.schoolId)?.acks ?? 0) + 1 });
  const ordered = orderBySchool(by, schools).map(([school, c]) => ({ school, ...c }));
  const total = ordered.reduce((t, r) => ({ school: 'Total', sent: t.sent + r.sent, pending: t.pending + r.pending, failed: t.failed + r.failed, notSent: t.notSent + r.notSent, acks: t.acks + r.acks }), { school: 'Total', ...zero() });
  return { rows: ordered, total, finished: total.pending === 0 };
}

// ------------------------------------------------------------------------------------------------
// Failures as CSV

export interface FailureLine {
  readonly school: string;
  readonly recipient: string;
  readonly kind: string;
  readonly status: string;
  readonly reason: string;
  readonly attempts: number;
  readonly when: string;
}

/** Who an announcement could not reach, as a CSV for spreadsheets. */
export function failuresCsv(lines: readonly FailureLine[]): string {
  return spreadsheetCsv(
    ['School', 'Recipient', 'Kind', 'HTTP status', 'Reason', 'Attempts', 'Last tried (UK time)'],
    lines.map((l) => [l.school, l.recipient, l.kind, l.status, l.reason, String(l.attempts), l.when]),
  );
}

export function kindLabel(target: Target): string {
  if (target.kind === 'person') return 'person (new chat)';
  return target.conversationKind === 'channel' ? 'channel' : target.conversationKind === 'groupChat' ? 'group chat' : 'person';
}
