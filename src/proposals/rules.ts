import type { Deadline } from '../platform/deadlines/types';
import type { Person } from '../platform/identity';
import { formatDayTime, londonToInstant } from '../platform/time';
import type { Aggregate, AuditEntry, AuditKind, Content, Decision, PersonRef, Proposal, ProposalStatus, SchoolStatus, Tag, Who } from './model';

/**
 * The proposal rules, pure: the four criteria, who may decide for which school, when a proposal is
 * approved, what an edit resets, and which deadlines follow from a change. They take the proposal with
 * its decisions and `now` and return the next state with its audit entry, or a refusal that says why.
 * The store commits a change as one transaction under the proposal row's ETag.
 */

// ---------------------------------------------------------------------------------------------
// The four criteria

export const CRITERIA = [
  { key: 'contributes', n: 1, name: 'Each school contributes' },
  { key: 'impact', n: 2, name: 'Widest impact (participants and legacy)' },
  { key: 'collaboration', n: 3, name: 'Collaboration across pupil or staff groups' },
  { key: 'measurable', n: 4, name: 'A measurable outcome' },
] as const;

/** Each answer the four criteria need, in criterion order: a blank one comes back as what is missing. */
export const ANSWERS = [
  { key: 'contributes', n: 1, missing: 'say how each school contributes' },
  { key: 'impact', n: 2, missing: 'give the number of pupils and staff expected to take part' },
  { key: 'legacy', n: 2, missing: 'say what lasts afterwards (its legacy)' },
  { key: 'collaboration', n: 3, missing: 'choose at least one partner school besides your own' },
  { key: 'groups', n: 3, missing: 'say how different pupil or staff groups work together' },
  { key: 'measurable', n: 4, missing: 'say what measurable outcome it will have' },
] as const;

/** An answer the criteria need that a proposal leaves out (several per criterion). */
export type Criterion = (typeof ANSWERS)[number]['key'];

/** Which answers the four criteria need a proposal leaves out, in criterion order. */
export function criteriaMissing(c: Pick<Content, 'contributions' | 'pupils' | 'staff' | 'legacy' | 'partnerSchoolIds' | 'collaboration' | 'outcome'>, leadSchoolId: string): Criterion[] {
  const blank = (text: string) => text.trim().length === 0;
  const missing: Record<Criterion, boolean> = {
    contributes: blank(c.contributions),
    impact: !(c.pupils > 0 || c.staff > 0),
    legacy: blank(c.legacy),
    collaboration: !c.partnerSchoolIds.some((id) => id !== leadSchoolId),
    groups: blank(c.collaboration),
    measurable: blank(c.outcome),
  };
  return ANSWERS.filter((a) => missing[a.key]).map((a) => a.key);
}

/** "Criterion 2 (widest impact (participants and legacy)): say what lasts afterwards (its legacy)." and so on, one per line. */
export function missingLines(missing: readonly Criterion[]): string[] {
  return ANSWERS.filter((a) => missing.includes(a.key)).map((a) => `Criterion ${a.n} (${CRITERIA[a.n - 1]!.name.toLowerCase()}): ${a.missing}.`);
}

// ---------------------------------------------------------------------------------------------
// Where a proposal stands

/** The partner schools' statuses for the current version (a school with no row, or a row for an older version, is pending). */
export function schoolStatus(agg: Aggregate, schoolId: string): SchoolStatus {
  const d = agg.decisions.get(schoolId);
  return d && d.version === agg.proposal.version ? d.status : 'pending';
}

export function statusOf(agg: Aggregate): ProposalStatus {
  const p = agg.proposal;
  if (p.lifecycle === 'withdrawn') return 'withdrawn';
  if (p.lifecycle === 'approved') return 'approved';
  const statuses = p.content.partnerSchoolIds.map((id) => schoolStatus(agg, id));
  if (statuses.includes('declined')) return 'declined';
  if (statuses.includes('changesRequested')) return 'changesRequested';
  if (statuses.length > 0 && statuses.every((s) => s === 'approved')) return 'awaitingSignOff';
  return 'pending';
}

/** The partner schools whose decision is still awaited (none once the proposal is approved or withdrawn). */
export function waitingOn(agg: Aggregate): string[] {
  if (agg.proposal.lifecycle !== 'open') return [];
  return agg.proposal.content.partnerSchoolIds.filter((id) => schoolStatus(agg, id) === 'pending');
}

export function approvedCount(agg: Aggregate): number {
  return agg.proposal.content.partnerSchoolIds.filter((id) => schoolStatus(agg, id) === 'approved').length;
}

/** Decisions are due by 17:00 London time on the decision-by date. */
export function decisionDue(content: Pick<Content, 'decisionBy'>): Date {
  return londonToInstant(content.decisionBy, '17:00') ?? new Date(`${content.decisionBy}T17:00:00Z`);
}

export const STATUS_LABEL: Record<ProposalStatus, string> = {
  pending: 'Awaiting approval',
  changesRequested: 'Changes requested',
  declined: 'Declined',
  awaitingSignOff: 'Awaiting sign-off',
  approved: 'Approved',
  withdrawn: 'Withdrawn',
};

export const SCHOOL_STATUS_LABEL: Record<SchoolStatus, string> = {
  pending: 'Pending',
  approved: 'Approved',
  changesRequested: 'Changes requested',
  declined: 'Declined',
};

const DONE: Record<Exclude<SchoolStatus, 'pending'>, string> = { approved: 'approved', changesRequested: 'requested changes to', declined: 'declined' };

// ---------------------------------------------------------------------------------------------
// Changes

export type Refusal = { readonly ok: false; readonly reason: 'closed' | 'stale' | 'notAllowed' | 'twice' | 'invalid' | 'notReady'; readonly message: string };

export interface Change {
  readonly ok: true;
  readonly next: Aggregate;
  readonly audit: AuditEntry;
  /** A new version of the content: its snapshot is kept in the history. */
  readonly newVersion: boolean;
  /** What the person who acted is told. */
  readonly message: string;
}

export type Result = Change | Refusal;

export type Names = (schoolId: string) => string;

/** Who is acting, as the directory knows them (never from card data). */
export type Actor = Pick<Person, 'aadObjectId' | 'name' | 'schoolId' | 'isRep' | 'isCoordinator'>;

const refuse = (reason: Refusal['reason'], message: string): Refusal => ({ ok: false, reason, message });
/** " Ann Hughes has been told." for whoever acted, unless they are the proposer (who is never told about themselves in the third person). */
const told = (p: Proposal, actor: Actor, rest: string): string => (actor.aadObjectId === p.proposer.aadObjectId ? '' : ` ${p.proposer.name}${rest}`);
const who = (a: Actor): Who => ({ aadObjectId: a.aadObjectId, name: a.name });

export const COMMENT_MAX = 500;

/** A new proposal: version 1, every partner school pending. */
export function submit(id: string, proposer: PersonRef, leadSchoolId: string, content: Content, now: Date): { agg: Aggregate; audit: AuditEntry } {
  const proposal: Proposal = { id, leadSchoolId, proposer, content, version: 1, rev: 1, lifecycle: 'open', createdAt: now, updatedAt: now };
  const decisions = new Map<string, Decision>(content.partnerSchoolIds.map((schoolId) => [schoolId, { schoolId, status: 'pending', version: 1, comment: '' }]));
  return { agg: { proposal, decisions }, audit: { kind: 'submitted', version: 1, by: { aadObjectId: proposer.aadObjectId, name: proposer.name }, at: now, comment: '' } };
}

function closedRefusal(agg: Aggregate, action: string): Refusal | undefined {
  const p = agg.proposal;
  const c = p.closed;
  const by = c ? ` by ${c.by.name}, ${formatDayTime(c.at)}` : '';
  if (p.lifecycle === 'withdrawn') return refuse('closed', `'${p.content.title}' was withdrawn${by}, so ${action}.`);
  if (p.lifecycle === 'approved') return refuse('closed', `'${p.content.title}' is already approved (signed off${by}), so ${action}.`);
  return undefined;
}

function staleRefusal(agg: Aggregate, cardVersion: number): Refusal | undefined {
  const p = agg.proposal;
  if (cardVersion === p.version) return undefined;
  return refuse('stale', `That card shows version ${cardVersion} of '${p.content.title}', but it has been edited since (it is now version ${p.version}), so nothing was changed. Please look at the latest card.`);
}

/**
 * Whether this person may decide for their school on this version: a rep of a partner school, for
 * their own school, once per version, while the proposal is open. Undefined means they may.
 */
export function mayDecide(agg: Aggregate, actor: Actor, cardVersion: number, names: Names): Refusal | undefined {
  const p = agg.proposal;
  const title = p.content.title;
  const closed = closedRefusal(agg, 'there is nothing left to decide');
  if (closed) return closed;
  const stale = staleRefusal(agg, cardVersion);
  if (stale) return stale;
  if (!actor.isRep || !actor.schoolId) {
    return refuse(
      'notAllowed',
      actor.isCoordinator
        ? `Only a rep of a partner school can decide for their school. As a coordinator you give the final sign-off once every partner school has approved '${title}'.`
        : `Only a rep of a partner school can decide on '${title}', for their own school.`,
    );
  }
  const school = names(actor.schoolId) || 'your school';
  if (actor.schoolId === p.leadSchoolId) return refuse('notAllowed', `${school} is the lead school of '${title}': its partner schools approve it.`);
  if (!p.content.partnerSchoolIds.includes(actor.schoolId)) {
    const partners = p.content.partnerSchoolIds.map((id) => names(id) || 'a school').join(', ');
    return refuse('notAllowed', `${school} is not a partner school of '${title}', so its reps can't decide on it. The partner schools are ${partners}.`);
  }
  const d = agg.decisions.get(actor.schoolId);
  if (d && d.version === p.version && d.status !== 'pending') {
    const by = d.by ? ` (${d.by.aadObjectId === actor.aadObjectId ? 'you' : d.by.name}${d.at ? `, ${formatDayTime(d.at)}` : ''})` : '';
    return refuse('twice', `${school} has already ${DONE[d.status]} version ${p.version} of '${title}'${by}, so nothing was changed.`);
  }
  return undefined;
}

/** Whether this person has a button to press on the proposal now: decide for their school, edit or withdraw it, or give the final sign-off. */
export function mayActNow(agg: Aggregate, actor: Actor, names: Names): boolean {
  const open = agg.proposal.lifecycle === 'open';
  return mayDecide(agg, actor, agg.proposal.version, names) === undefined || (open && mayChange(agg, actor) === undefined) || (statusOf(agg) === 'awaitingSignOff' && actor.isCoordinator);
}

/** A person as the directory knows them, with their Teams id (29:…) when it is kept. */
export type Member = Actor & { readonly teamsId?: string };

/**
 * Whose own view Teams fetches for the shared card (`refresh.userIds`, Teams ids): the partner schools'
 * reps, the proposer and the coordinators, those with a button to press now first (by the rules that
 * refuse everyone else), at most `limit` (Teams refreshes for no more than 60). People whose Teams id is
 * not known are left out: they press the shared card's neutral button for their view.
 */
export function refreshAudience(agg: Aggregate, people: readonly Member[], names: Names, limit: number): string[] {
  const p = agg.proposal;
  const isProposer = (m: Member) => m.aadObjectId === p.proposer.aadObjectId;
  const proposer: Member = people.find(isProposer) ?? { aadObjectId: p.proposer.aadObjectId, name: p.proposer.name, teamsId: p.proposer.teamsId, isRep: true, isCoordinator: false, schoolId: p.leadSchoolId };
  // The partner schools' reps, the proposer, the coordinators: in that order within "now" and "later".
  const listed = [...new Set([...people.filter((m) => m.isRep && !!m.schoolId && p.content.partnerSchoolIds.includes(m.schoolId)), proposer, ...people.filter((m) => m.isCoordinator)])];
  const now = listed.filter((m) => mayActNow(agg, m, names));
  const later = listed.filter((m) => !now.includes(m));
  const teamsIdOf = (m: Member) => m.teamsId || (m.aadObjectId === p.proposer.aadObjectId ? p.proposer.teamsId : '');
  return [...new Set([...now, ...later].map(teamsIdOf).filter((id) => !!id))].slice(0, limit);
}

export type DecisionKind = 'approve' | 'requestChanges' | 'decline';

const DECISION_STATUS: Record<DecisionKind, Exclude<SchoolStatus, 'pending'>> = { approve: 'approved', requestChanges: 'changesRequested', decline: 'declined' };

/** A partner school's rep approves, asks for changes (comment required) or declines (reason required). */
export function decide(agg: Aggregate, actor: Actor, kind: DecisionKind, cardVersion: number, comment: string, now: Date, names: Names): Result {
  const refused = mayDecide(agg, actor, cardVersion, names);
  if (refused) return refused;
  const text = comment.trim();
  if (kind === 'requestChanges' && text.length < 3) return refuse('invalid', 'Say what should change (in the box under Request changes), so the proposer knows what to do.');
  if (kind === 'decline' && text.length < 3) return refuse('invalid', 'Give a reason for declining (in the box under Decline), so the proposer knows why.');
  if (text.length > COMMENT_MAX) return refuse('invalid', `Keep the comment to ${COMMENT_MAX} characters.`);
  const p = agg.proposal;
  const schoolId = actor.schoolId!;
  const status = DECISION_STATUS[kind];
  const decisions = new Map(agg.decisions);
  decisions.set(schoolId, { schoolId, status, version: p.version, by: who(actor), at: now, comment: text });
  const next: Aggregate = { proposal: { ...p, rev: p.rev + 1, updatedAt: now }, decisions };
  const school = names(schoolId) || 'your school';
  let message: string;
  if (kind === 'approve') {
    message = statusOf(next) === 'awaitingSignOff' ? `Approved for ${school}. Every partner school has now approved '${p.content.title}': a coordinator gives the final sign-off.` : `Approved for ${school}.${told(p, actor, ' has been told.')}`;
  } else if (kind === 'requestChanges') {
    message = `Change request sent for ${school}.${told(p, actor, ' has been told and can edit the proposal.')}`;
  } else {
    message = `Declined for ${school}.${told(p, actor, ' has been told why.')}`;
  }
  return { ok: true, next, audit: { kind: status, version: p.version, by: who(actor), at: now, schoolId, comment: text }, newVersion: false, message };
}

/** A coordinator's final sign-off, once every partner school has approved the current version. */
export function signOff(agg: Aggregate, actor: Actor, cardVersion: number, now: Date, names: Names): Result {
  const p = agg.proposal;
  if (!actor.isCoordinator) return refuse('notAllowed', 'Only coordinators give the final sign-off.');
  if (p.lifecycle === 'approved') {
    const c = p.closed;
    return refuse('twice', `'${p.content.title}' is already approved${c ? ` (signed off by ${c.by.aadObjectId === actor.aadObjectId ? 'you' : c.by.name}, ${formatDayTime(c.at)})` : ''}, so nothing was changed.`);
  }
  const closed = closedRefusal(agg, 'it cannot be signed off');
  if (closed) return closed;
  const stale = staleRefusal(agg, cardVersion);
  if (stale) return stale;
  if (statusOf(agg) !== 'awaitingSignOff') {
    const waiting = p.content.partnerSchoolIds
      .filter((id) => schoolStatus(agg, id) !== 'approved')
      .map((id) => `${names(id) || 'a school'} (${SCHOOL_STATUS_LABEL[schoolStatus(agg, id)].toLowerCase()})`);
    return refuse('notReady', `Every partner school must approve '${p.content.title}' before the final sign-off. Still to approve: ${waiting.join(', ')}.`);
  }
  const next: Aggregate = { proposal: { ...p, lifecycle: 'approved', rev: p.rev + 1, updatedAt: now, closed: { by: who(actor), at: now, comment: '' } }, decisions: agg.decisions };
  return { ok: true, next, audit: { kind: 'signedOff', version: p.version, by: who(actor), at: now, comment: '' }, newVersion: false, message: `Signed off: '${p.content.title}' is approved${actor.aadObjectId === p.proposer.aadObjectId ? '' : `. ${p.proposer.name} has been told`} and it is announced to the reps.` };
}

/** Only the proposer or a coordinator may edit or withdraw a proposal. */
export function mayChange(agg: Aggregate, actor: Actor): Refusal | undefined {
  const p = agg.proposal;
  if (actor.aadObjectId === p.proposer.aadObjectId || actor.isCoordinator) return undefined;
  return refuse('notAllowed', `Only the proposer (${p.proposer.name}) or a coordinator can change '${p.content.title}'.`);
}

/**
 * An edit: a new version of the content. Every partner school's earlier decision is reset to pending
 * for re-approval (schools taken off drop out, schools added start pending); the history keeps the old version.
 */
export function edit(agg: Aggregate, actor: Actor, content: Content, cardVersion: number, now: Date, names: Names): Result {
  const p = agg.proposal;
  const closed = closedRefusal(agg, 'it cannot be edited (propose a new project instead)');
  if (closed) return closed;
  const allowed = mayChange(agg, actor);
  if (allowed) return allowed;
  const stale = staleRefusal(agg, cardVersion);
  if (stale) {
    return refuse('stale', `'${p.content.title}' was edited by someone else while you had the form open (it is now version ${p.version}), so your changes were not saved. Open it again with \`proposal edit\`.`);
  }
  const version = p.version + 1;
  const partnerSchoolIds = content.partnerSchoolIds.filter((id) => id !== p.leadSchoolId);
  const decisions = new Map<string, Decision>(partnerSchoolIds.map((schoolId) => [schoolId, { schoolId, status: 'pending', version, comment: '' }]));
  const changed = changedFields(p.content, content, names);
  const next: Aggregate = { proposal: { ...p, content: { ...content, partnerSchoolIds }, version, rev: p.rev + 1, updatedAt: now }, decisions };
  const summary = changed.length > 0 ? `Changed: ${changed.join(', ')}.` : 'Resubmitted without changes.';
  return {
    ok: true,
    next,
    audit: { kind: 'edited', version, by: who(actor), at: now, comment: summary },
    newVersion: true,
    message: `Saved version ${version} of '${content.title}'. ${summary} Every partner school's approval is reset, so they look at it again.`,
  };
}

/** The proposer or a coordinator withdraws an open proposal: no more decisions, no more nudges. */
export function withdraw(agg: Aggregate, actor: Actor, comment: string, now: Date): Result {
  const p = agg.proposal;
  if (p.lifecycle === 'withdrawn') return refuse('twice', `'${p.content.title}' is already withdrawn, so nothing was changed.`);
  const closed = closedRefusal(agg, 'it cannot be withdrawn');
  if (closed) return closed;
  const allowed = mayChange(agg, actor);
  if (allowed) return allowed;
  const text = comment.trim().slice(0, COMMENT_MAX);
  const next: Aggregate = { proposal: { ...p, lifecycle: 'withdrawn', rev: p.rev + 1, updatedAt: now, closed: { by: who(actor), at: now, comment: text } }, decisions: agg.decisions };
  return { ok: true, next, audit: { kind: 'withdrawn', version: p.version, by: who(actor), at: now, comment: text }, newVersion: false, message: `'${p.content.title}' is withdrawn. The partner schools see it on the card.` };
}

const FIELD_LABELS: [keyof Content, string][] = [
  ['title', 'title'],
  ['summary', 'summary'],
  ['partnerSchoolIds', 'partner schools'],
  ['contributions', 'contributions'],
  ['collaboration', 'collaboration'],
  ['pupils', 'pupils'],
  ['staff', 'staff'],
  ['legacy', 'legacy'],
  ['outcome', 'measurable outcome'],
  ['mutualNeeds', 'mutual needs'],
  ['funderOutcomes', 'funder outcomes'],
  ['startDate', 'start date'],
  ['endDate', 'end date'],
  ['budgetPence', 'budget'],
  ['decisionBy', 'decision-by date'],
];

/** Which fields an edit changed, as people call them. */
export function changedFields(before: Content, after: Content, _names?: Names): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(Array.isArray(a) ? [...a].sort() : a) === JSON.stringify(Array.isArray(b) ? [...b].sort() : b);
  return FIELD_LABELS.filter(([key]) => !same(before[key], after[key])).map(([, label]) => label);
}

export const AUDIT_LABEL: Record<AuditKind, string> = {
  submitted: 'Submitted',
  edited: 'Edited',
  approved: 'Approved',
  changesRequested: 'Requested changes',
  declined: 'Declined',
  signedOff: 'Final sign-off',
  withdrawn: 'Withdrawn',
};

// ---------------------------------------------------------------------------------------------
// Deadlines for the nudges

export const DEADLINE_CAPABILITY = 'proposals';

export const deadlineId = (proposalId: string, schoolId: string) => `proposal:${proposalId}:school:${schoolId}`;

/** The schools whose decision should be nudged: the pending ones, while the proposal waits only on decisions. */
function nudged(agg: Aggregate | undefined): Set<string> {
  return agg && statusOf(agg) === 'pending' ? new Set(waitingOn(agg)) : new Set();
}

/**
 * What the deadline registry must hear after a change: register each partner school's pending decision
 * (again after an edit: the version, title or date may have changed), complete a school's deadline
 * when it decided, and cancel the rest when the proposal stops waiting on them (withdrawn, held up by
 * a change request or a decline until the proposer edits it, or the school was taken off).
 */
export function deadlineChanges(before: Aggregate | undefined, after: Aggregate): { register: string[]; complete: string[]; cancel: string[] } {
  const was = nudged(before);
  const now = nudged(after);
  const newVersion = !before || before.proposal.version !== after.proposal.version;
  const register = [...now].filter((id) => newVersion || !was.has(id));
  const complete: string[] = [];
  const cancel: string[] = [];
  for (const id of was) {
    if (now.has(id)) continue;
    const decided = !newVersion && schoolStatus(after, id) !== 'pending';
    (decided ? complete : cancel).push(id);
  }
  return { register, complete, cancel };
}

/**
 * What a committed change tells people and the deadline registry, besides the state (pure; the
 * outbox delivers them, words in cards.ts): every posted card shows the new state; the registry hears
 * which decisions are now awaited, done or no longer needed; an edited version is posted again so
 * reps see it; the proposer hears of what others did; a sign-off is announced to the reps.
 */
export type ProposalEffect =
  | { readonly kind: 'refreshCards' }
  | { readonly kind: 'deadlines'; readonly register: readonly string[]; readonly complete: readonly string[]; readonly cancel: readonly string[] }
  | { readonly kind: 'postCard' }
  | { readonly kind: 'tellProposer' }
  | { readonly kind: 'announce' };

export function effectsOf(before: Aggregate | undefined, next: Aggregate, audit: AuditEntry): ProposalEffect[] {
  const effects: ProposalEffect[] = [];
  if (before) effects.push({ kind: 'refreshCards' });
  const { register, complete, cancel } = deadlineChanges(before, next);
  if (register.length + complete.length + cancel.length > 0) effects.push({ kind: 'deadlines', register, complete, cancel });
  if (audit.kind === 'submitted' || audit.kind === 'edited') effects.push({ kind: 'postCard' });
  if (audit.by.aadObjectId !== next.proposal.proposer.aadObjectId && audit.kind !== 'submitted') effects.push({ kind: 'tellProposer' });
  if (audit.kind === 'signedOff') effects.push({ kind: 'announce' });
  return effects;
}

/** The deadline item for one partner school's decision; its buttons are the card's own. */
export function deadlineItem(agg: Aggregate, schoolId: string, schoolName: string, leadName = ''): Deadline {
  const p = agg.proposal;
  const data = { proposalId: p.id, version: String(p.version) };
  return {
    id: deadlineId(p.id, schoolId),
    capability: DEADLINE_CAPABILITY,
    who: { kind: 'schoolReps', schoolId },
    what: `Approve '${p.content.title}' for ${schoolName || 'your school'}`,
    schoolId,
    dueAt: decisionDue(p.content),
    detail: `Proposed by ${p.proposer.name}${leadName ? ` (${leadName})` : ''}, version ${p.version}.`,
    actions: [
      { title: 'Approve for my school', verb: 'proposal.approve', data },
      { title: 'Request changes', verb: 'proposal.requestChanges', data },
      { title: 'Decline', verb: 'proposal.decline', data },
    ],
    essential: true,
    kind: 'deadline',
  };
}

// ---------------------------------------------------------------------------------------------
// The partnership's lists of mutual needs and funder outcomes

/** A stable id for a label, without commas (Teams joins multi-select values with commas). */
export function tagId(label: string): string {
  return (
    label
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 50)
      .replace(/^-+|-+$/g, '') || 'tag'
  );
}

export function tagsFromLabels(labels: readonly string[]): Tag[] {
  const out: Tag[] = [];
  for (const label of labels) {
    let id = tagId(label);
    for (let n = 2; out.some((t) => t.id === id); n += 1) id = `${tagId(label)}-${n}`;
    out.push({ id, label });
  }
  return out;
}

const tagKey = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

/** Finds a tag by its label, ignoring case and spacing; failing that, the only label containing the text. */
export function findTag(tags: readonly Tag[], text: string): Tag | undefined {
  const key = tagKey(text);
  if (!key) return undefined;
  const exact = tags.find((t) => tagKey(t.label) === key || t.id === key);
  if (exact) return exact;
  const partial = tags.filter((t) => tagKey(t.label).includes(key));
  return partial.length === 1 ? partial[0] : undefined;
}

export type TagChange = { ok: true; tags: Tag[]; message: string } | { ok: false; message: string };

export function addTag(tags: readonly Tag[], raw: string, what: string): TagChange {
  const label = raw.replace(/\s+/g, ' ').trim();
  if (label.length < 2 || label.length > 80) return { ok: false, message: `Give the ${what} in 2 to 80 characters, e.g. \`${what === 'mutual need' ? 'mutual need add Oracy' : 'funder outcome add Aspiration'}\`.` };
  if (tags.some((t) => tagKey(t.label) === tagKey(label))) return { ok: false, message: `'${label}' is already on the list, so nothing changed.` };
  if (tags.length >= 40) return { ok: false, message: `The list already has 40 entries; remove one first.` };
  let id = tagId(label);
  for (let n = 2; tags.some((t) => t.id === id); n += 1) id = `${tagId(label)}-${n}`;
  return { ok: true, tags: [...tags, { id, label }], message: `Added '${label}' to the ${what}s.` };
}

export function removeTag(tags: readonly Tag[], raw: string, what: string): TagChange {
  const tag = tags.find((t) => tagKey(t.label) === tagKey(raw)) ?? findTag(tags, raw);
  if (!tag) return { ok: false, message: `'${raw.trim()}' is not on the list of ${what}s. The list: ${tags.map((t) => t.label).join('; ')}.` };
  if (what === 'mutual need' && tags.length <= 1) return { ok: false, message: 'Every proposal rests on a mutual need, so keep at least one on the list.' };
  return { ok: true, tags: tags.filter((t) => t.id !== tag.id), message: `Removed '${tag.label}' from the ${what}s. Proposals already tagged with it keep it.` };
}

// ---------------------------------------------------------------------------------------------
// The list of proposals

export interface Summary {
  readonly id: string;
  readonly title: string;
  readonly leadSchoolId: string;
  readonly proposerAad: string;
  readonly status: ProposalStatus;
  readonly partnerSchoolIds: readonly string[];
  readonly waitingOn: readonly string[];
  readonly approved: number;
  readonly mutualNeeds: readonly string[];
  readonly funderOutcomes: readonly string[];
  readonly decisionBy: string;
  readonly version: number;
  readonly updatedAt: Date;
}

export interface ListFilter {
  readonly need?: string;
  readonly outcome?: string;
}

export interface Section {
  readonly key: string;
  readonly title: string;
  readonly items: Summary[];
}

const ORDER: ProposalStatus[] = ['pending', 'changesRequested', 'declined', 'awaitingSignOff', 'approved', 'withdrawn'];

/**
 * Proposals by status, filtered by mutual need and funder outcome (labels, case ignored). What waits on
 * the person comes first: for a rep, the proposals waiting on their school's decision; for a
 * coordinator, those waiting for the final sign-off.
 */
export function listSections(all: readonly Summary[], person: Pick<Person, 'schoolId' | 'isRep' | 'isCoordinator'>, filter: ListFilter, schoolName: string): Section[] {
  const key = (s: string) => s.trim().toLowerCase();
  const items = all
    .filter((s) => !filter.need || s.mutualNeeds.some((n) => key(n) === key(filter.need!)))
    .filter((s) => !filter.outcome || s.funderOutcomes.some((n) => key(n) === key(filter.outcome!)))
    .slice()
    .sort((a, b) => a.decisionBy.localeCompare(b.decisionBy) || b.updatedAt.getTime() - a.updatedAt.getTime());
  const sections: Section[] = [];
  const taken = new Set<string>();
  if (person.isRep && person.schoolId) {
    const mine = items.filter((s) => s.status !== 'approved' && s.status !== 'withdrawn' && s.waitingOn.includes(person.schoolId!));
    mine.forEach((s) => taken.add(s.id));
    if (mine.length > 0) sections.push({ key: 'mine', title: `Waiting on ${schoolName || 'your school'}`, items: mine });
  }
  if (person.isCoordinator) {
    const signOff = items.filter((s) => s.status === 'awaitingSignOff' && !taken.has(s.id));
    signOff.forEach((s) => taken.add(s.id));
    if (signOff.length > 0) sections.push({ key: 'signOff', title: 'Waiting for your final sign-off', items: signOff });
  }
  for (const status of ORDER) {
    const these = items.filter((s) => s.status === status && !taken.has(s.id));
    if (these.length > 0) sections.push({ key: status, title: STATUS_LABEL[status], items: these });
  }
  return sections;
}
