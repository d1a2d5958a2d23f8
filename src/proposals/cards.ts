import { pupilWarningText, type PupilDataWarning } from '../platform/pupilData';
import { formatDay, formatDayTime, londonToInstant } from '../platform/time';
import { FORM_FIELDS, type FormErrors, type FormValues } from './form';
import type { Aggregate, AuditEntry, Content, SchoolStatus, Tag } from './model';
import type { History } from './store';
import { AUDIT_LABEL, CRITERIA, SCHOOL_STATUS_LABEL, STATUS_LABEL, approvedCount, decisionDue, mayActNow, mayChange, mayDecide, missingLines, schoolStatus, statusOf, waitingOn, type Actor, type Criterion, type Names, type Section } from './rules';

/** Proposal domain → typed template data for cards/proposal*.json. No Teams calls here. */

export const PERSONAL_DATA_NOTE = 'No pupil names or personal details, please.';
/** The free-text fields checked for pupils' names before a proposal is stored. */
export const FREE_TEXT_FIELDS = ['title', 'summary', 'contributions', 'collaboration', 'legacy', 'outcome'] as const;

type Colour = 'Default' | 'Accent' | 'Good' | 'Warning' | 'Attention';

const SCHOOL_COLOUR: Record<SchoolStatus, Colour> = { pending: 'Accent', approved: 'Good', changesRequested: 'Warning', declined: 'Attention' };

export interface ProposalCardData {
  readonly proposalId: string;
  readonly version: string;
  readonly title: string;
  readonly status: string;
  readonly statusColour: Colour;
  readonly byLine: string;
  readonly summary: string;
  readonly facts: { title: string; value: string }[];
  readonly criteria: { heading: string; answer: string }[];
  readonly needsLine: string;
  readonly hasNeeds: boolean;
  readonly outcomesLine: string;
  readonly hasOutcomes: boolean;
  readonly schools: { name: string; status: string; colour: Colour; detail: string; comment: string; hasComment: boolean }[];
  readonly signOffLine: string;
  readonly isOpen: boolean;
  readonly canSignOff: boolean;
  /**
   * The buttons shown. On a person's own view, only theirs (decided by the rules that refuse everyone
   * else). The shared card, which everyone in the channel sees until Teams fetches their own view, has
   * none of them: only `showOptions`, which anyone may press for their own view.
   */
  readonly showDecide: boolean;
  readonly showSignOff: boolean;
  readonly showChange: boolean;
  readonly showHistory: boolean;
  readonly showMore: boolean;
  readonly showOptions: boolean;
  /** On an own view with nothing to press while the proposal is open: says so. */
  readonly nothingForYou: string;
  readonly hasNothingForYou: boolean;
  /** Teams ids whose clients fetch their own view of this card (Universal Actions `refresh`). */
  readonly refreshUserIds: string[];
  readonly note: string;
  readonly hasNote: boolean;
}

const NOTHING_FOR_YOU = "Nothing on this proposal waits on you: each partner school's reps decide for their school, then a coordinator gives the final sign-off.";

const dayOf = (date: string) => londonToInstant(date, '12:00');

export function datesText(c: Pick<Content, 'startDate' | 'endDate'>, now: Date): string {
  const start = dayOf(c.startDate);
  const end = dayOf(c.endDate);
  if (!start) return c.startDate;
  if (!end || c.endDate === c.startDate) return formatDay(start, now);
  return `${formatDay(start, now)} to ${formatDay(end, now)}`;
}

export function budgetText(pence: number | undefined): string {
  if (pence === undefined) return 'None requested';
  const pounds = pence / 100;
  return `£${pounds.toLocaleString('en-GB', { minimumFractionDigits: pence % 100 === 0 ? 0 : 2, maximumFractionDigits: 2 })}`;
}

export function participantsText(c: Pick<Content, 'pupils' | 'staff'>): string {
  const part = (n: number, one: string, many: string) => `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`;
  return `${part(c.pupils, 'pupil', 'pupils')}, ${part(c.staff, 'member of staff', 'staff')}`;
}

export function schoolList(ids: readonly string[], names: Names): string {
  const list = ids.map((id) => names(id) || 'a school no longer in the directory');
  if (list.length <= 1) return list.join('');
  return `${list.slice(0, -1).join(', ')} and ${list.at(-1)}`;
}

/**
 * The proposal card. Without a viewer it is the shared card: content and where each school stands, no
 * buttons but the neutral *Show my options*, and `refresh` so Teams fetches the own view of the people
 * in `refreshUserIds`. With a viewer it is their own view: only the buttons the rules let them use.
 */
export function proposalCardData(agg: Aggregate, now: Date, names: Names, note = '', viewer?: Actor, refreshUserIds: readonly string[] = []): ProposalCardData {
  const p = agg.proposal;
  const c = p.content;
  const status = statusOf(agg);
  const lead = names(p.leadSchoolId) || 'their school';
  const due = decisionDue(c);
  const everyone = [p.leadSchoolId, ...c.partnerSchoolIds];
  const versionText = p.version > 1 ? `version ${p.version}, edited ${formatDayTime(p.updatedAt, now)}` : `submitted ${formatDayTime(p.createdAt, now)}`;
  const schools = c.partnerSchoolIds.map((id) => {
    const s = schoolStatus(agg, id);
    const d = agg.decisions.get(id);
    const decided = s !== 'pending' && d?.by;
    const detail = decided ? `${d!.by!.name}${d!.at ? `, ${formatDayTime(d!.at, now)}` : ''}` : p.lifecycle === 'open' ? `Decide by ${formatDay(due, now)}` : '';
    const comment = decided && d!.comment ? `“${d!.comment}”` : '';
    return { name: names(id) || 'A school no longer in the directory', status: SCHOOL_STATUS_LABEL[s], colour: SCHOOL_COLOUR[s], detail, comment, hasComment: !!comment };
  });
  let signOffLine: string;
  if (status === 'approved') signOffLine = `Final sign-off: ${p.closed?.by.name ?? 'a coordinator'}, ${p.closed ? formatDayTime(p.closed.at, now) : ''}. Approved.`;
  else if (status === 'withdrawn') signOffLine = `Withdrawn by ${p.closed?.by.name ?? 'the proposer'}${p.closed ? `, ${formatDayTime(p.closed.at, now)}` : ''}${p.closed?.comment ? `: “${p.closed.comment}”` : '.'}`;
  else if (status === 'awaitingSignOff') signOffLine = 'Every partner school has approved. Final sign-off: waiting for a coordinator.';
  else signOffLine = `Final sign-off by a coordinator once every partner school approves (${approvedCount(agg)} of ${c.partnerSchoolIds.length} so far).`;
  return {
    proposalId: p.id,
    version: String(p.version),
    title: c.title,
    status: STATUS_LABEL[status],
    statusColour: status === 'approved' ? 'Good' : status === 'declined' || status === 'withdrawn' ? 'Attention' : status === 'changesRequested' ? 'Warning' : 'Accent',
    byLine: `Proposed by ${p.proposer.name}, ${lead} (${versionText})`,
    summary: c.summary,
    facts: [
      { title: 'Lead school', value: lead },
      { title: 'Partner schools', value: schoolList(c.partnerSchoolIds, names) },
      { title: 'When', value: datesText(c, now) },
      { title: 'Participants', value: participantsText(c) },
      { title: 'Budget requested', value: budgetText(c.budgetPence) },
      { title: 'Decide by', value: formatDayTime(due, now) },
    ],
    criteria: [
      { heading: `1. ${CRITERIA[0].name}`, answer: c.contributions },
      { heading: `2. ${CRITERIA[1].name}`, answer: `${participantsText(c)}.${c.legacy ? ` Legacy: ${c.legacy}` : ' Legacy: not stated.'}` },
      { heading: `3. ${CRITERIA[2].name}`, answer: `${schoolList(everyone, names)} working together.${c.collaboration ? ` ${c.collaboration}` : ''}` },
      { heading: `4. ${CRITERIA[3].name}`, answer: c.outcome },
    ],
    needsLine: `Mutual needs: ${c.mutualNeeds.join('; ')}`,
    hasNeeds: c.mutualNeeds.length > 0,
    outcomesLine: `Funder outcomes: ${c.funderOutcomes.join('; ')}`,
    hasOutcomes: c.funderOutcomes.length > 0,
    schools,
    signOffLine,
    isOpen: p.lifecycle === 'open',
    canSignOff: status === 'awaitingSignOff',
    showDecide: !!viewer && p.lifecycle === 'open' && mayDecide(agg, viewer, p.version, names) === undefined,
    showSignOff: !!viewer && status === 'awaitingSignOff' && viewer.isCoordinator,
    showChange: !!viewer && p.lifecycle === 'open' && mayChange(agg, viewer) === undefined,
    showHistory: !!viewer && viewer.isCoordinator,
    showMore: !!viewer && (viewer.isCoordinator || (p.lifecycle === 'open' && mayChange(agg, viewer) === undefined)),
    showOptions: !viewer && p.lifecycle === 'open',
    nothingForYou: NOTHING_FOR_YOU,
    hasNothingForYou: !!viewer && p.lifecycle === 'open' && !mayActNow(agg, viewer, names),
    refreshUserIds: [...refreshUserIds],
    note,
    hasNote: !!note,
  };
}

export interface FormCardData {
  readonly pupilWarning: string;
  readonly hasPupilWarning: boolean;
  readonly heading: string;
  readonly verb: 'proposal.submit' | 'proposal.saveEdit';
  readonly submitTitle: string;
  readonly formId: string;
  readonly proposalId: string;
  readonly version: string;
  readonly leadSchool: string;
  readonly note: string;
  readonly values: FormValues;
  readonly errors: Record<string, string>;
  readonly hasErrors: boolean;
  readonly missing: { line: string }[];
  readonly hasMissing: boolean;
  readonly partnerChoices: { title: string; value: string }[];
  readonly needChoices: { title: string; value: string }[];
  readonly outcomeChoices: { title: string; value: string }[];
  readonly hasOutcomeChoices: boolean;
}

export function formCardData(opts: {
  mode: 'new' | 'edit';
  formId?: string;
  proposal?: { id: string; version: number; title: string };
  leadSchool: { id: string; name: string };
  schools: readonly { id: string; name: string }[];
  needs: readonly Tag[];
  outcomes: readonly Tag[];
  values: FormValues;
  errors?: FormErrors;
  missing?: readonly Criterion[];
  /** Free text that looks like it names a pupil: the form comes back with a warning and "Submit anyway". */
  pupilData?: readonly PupilDataWarning[];
}): FormCardData {
  const errors = Object.fromEntries(FORM_FIELDS.map((f) => [f, opts.errors?.[f] ?? '']));
  const missing = missingLines(opts.missing ?? []).map((line) => ({ line }));
  return {
    heading: opts.mode === 'new' ? 'Propose a project' : `Edit: ${opts.proposal?.title ?? 'proposal'}`,
    verb: opts.mode === 'new' ? 'proposal.submit' : 'proposal.saveEdit',
    submitTitle: opts.mode === 'new' ? 'Submit for approval' : 'Save and ask again for approval',
    formId: opts.formId ?? '',
    proposalId: opts.proposal?.id ?? '',
    version: String(opts.proposal?.version ?? 0),
    leadSchool: `Lead school: ${opts.leadSchool.name}`,
    note:
      opts.mode === 'new'
        ? `Every project rests on the partner schools' mutual need and meets the four criteria: each school contributes; the widest impact in participants and legacy; collaboration across pupil or staff groups; a measurable outcome. ${PERSONAL_DATA_NOTE}`
        : `Saving asks every partner school to approve again. ${PERSONAL_DATA_NOTE}`,
    values: opts.values,
    errors,
    hasErrors: Object.values(errors).some((e) => !!e),
    missing,
    hasMissing: missing.length > 0,
    partnerChoices: opts.schools.filter((s) => s.id !== opts.leadSchool.id).map((s) => ({ title: s.name, value: s.id })),
    needChoices: opts.needs.map((t) => ({ title: t.label, value: t.id })),
    outcomeChoices: opts.outcomes.map((t) => ({ title: t.label, value: t.id })),
    hasOutcomeChoices: opts.outcomes.length > 0,
    pupilWarning: pupilWarningText(opts.pupilData ?? [], FIELD_LABELS, 'Submit anyway: it is not a pupil'),
    hasPupilWarning: (opts.pupilData ?? []).length > 0,
  };
}

/** Where the pupil-data warning names a field, the words the form shows for it. */
const FIELD_LABELS: Readonly<Record<string, string>> = {
  title: 'the title',
  summary: 'the summary',
  contributions: 'how each school contributes',
  collaboration: 'how groups work together',
  legacy: 'the legacy',
  outcome: 'the measurable outcome',
};

export interface ListCardData {
  readonly heading: string;
  readonly filterLine: string;
  readonly hasFilter: boolean;
  readonly sections: { title: string; items: { proposalId: string; title: string; line: string; tags: string; canEdit: boolean; canHistory: boolean }[] }[];
  readonly hasSections: boolean;
  readonly empty: string;
  readonly need: string;
  readonly outcome: string;
  readonly needChoices: { title: string; value: string }[];
  readonly outcomeChoices: { title: string; value: string }[];
}

export function listCardData(opts: {
  partnership: string;
  sections: readonly Section[];
  names: Names;
  now: Date;
  filter: { need?: string; outcome?: string };
  needs: readonly Tag[];
  outcomes: readonly Tag[];
  me: { aadObjectId: string; isCoordinator: boolean };
}): ListCardData {
  const filters = [opts.filter.need ? `mutual need '${opts.filter.need}'` : '', opts.filter.outcome ? `funder outcome '${opts.filter.outcome}'` : ''].filter(Boolean);
  const sections = opts.sections.map((s) => ({
    title: `${s.title} (${s.items.length})`,
    items: s.items.slice(0, 15).map((i) => {
      const open = i.status !== 'approved' && i.status !== 'withdrawn';
      const progress = `${i.approved} of ${i.partnerSchoolIds.length} partner schools approved`;
      const due = open ? `, decide by ${formatDay(decisionDue(i), opts.now)}` : '';
      return {
        proposalId: i.id,
        title: i.title,
        line: `${opts.names(i.leadSchoolId) || 'A school'} with ${schoolList(i.partnerSchoolIds, opts.names)}: ${progress}${due}.`,
        tags: [...i.mutualNeeds, ...i.funderOutcomes].join(' · '),
        canEdit: open && (i.proposerAad === opts.me.aadObjectId || opts.me.isCoordinator),
        canHistory: opts.me.isCoordinator,
      };
    }),
  }));
  return {
    heading: `Proposals in ${opts.partnership}`,
    filterLine: filters.length > 0 ? `Showing proposals for ${filters.join(' and ')}.` : '',
    hasFilter: filters.length > 0,
    sections,
    hasSections: sections.length > 0,
    empty: filters.length > 0 ? 'No proposals match.' : 'No proposals yet. A rep proposes a project with `propose`.',
    need: opts.filter.need ?? '',
    outcome: opts.filter.outcome ?? '',
    needChoices: opts.needs.map((t) => ({ title: t.label, value: t.label })),
    outcomeChoices: opts.outcomes.map((t) => ({ title: t.label, value: t.label })),
  };
}

export interface HistoryCardData {
  readonly title: string;
  readonly status: string;
  readonly proposalId: string;
  readonly entries: { when: string; text: string; comment: string; hasComment: boolean }[];
  readonly versions: { line: string; detail: string }[];
}

export function auditText(e: AuditEntry, names: Names): string {
  const school = e.schoolId ? ` for ${names(e.schoolId) || 'a school'}` : '';
  return `${AUDIT_LABEL[e.kind]}${school} by ${e.by.name} (version ${e.version})`;
}

export function historyCardData(agg: Aggregate, history: History, names: Names, now: Date): HistoryCardData {
  return {
    title: agg.proposal.content.title,
    status: STATUS_LABEL[statusOf(agg)],
    proposalId: agg.proposal.id,
    entries: history.entries.map((e) => ({ when: formatDayTime(e.at, now), text: auditText(e, names), comment: e.comment ? `“${e.comment}”` : '', hasComment: !!e.comment })),
    versions: history.versions.map((v) => ({
      line: `Version ${v.version}: ${v.content.title} (${v.by.name}, ${formatDayTime(v.at, now)})`,
      detail: `With ${schoolList(v.content.partnerSchoolIds, names)}; ${participantsText(v.content)}; ${datesText(v.content, now)}; outcome: ${v.content.outcome}`,
    })),
  };
}

export interface NoticeCardData {
  readonly heading: string;
  readonly text: string;
  readonly comment: string;
  readonly hasComment: boolean;
  readonly proposalId: string;
  readonly canEdit: boolean;
}

export function noticeCardData(heading: string, text: string, proposalId: string, opts: { comment?: string; canEdit?: boolean } = {}): NoticeCardData {
  return { heading, text, comment: opts.comment ? `“${opts.comment}”` : '', hasComment: !!opts.comment, proposalId, canEdit: opts.canEdit ?? false };
}

/** The answer to Submit once the card is in the reps' channel. */
export function postedNoticeData(title: string, proposalId: string): NoticeCardData {
  return noticeCardData(`'${title}' is posted for approval`, "It is in the reps' channel. I'll tell you here as each partner school decides.", proposalId);
}

/** The answer to Submit while Teams has not yet taken the card in the reps' channel (it is stored; the outbox keeps trying). */
export function onItsWayNoticeData(title: string, proposalId: string): NoticeCardData {
  return noticeCardData(
    `'${title}' is on its way to the reps' channel`,
    "Teams is slow to take it just now. I'll tell you here as each partner school decides. If Teams won't let me post it there, I'll share it where you proposed it instead.",
    proposalId,
  );
}

/** The answer to Submit when Teams refused the card in the reps' channel at once: it is shared where it was proposed. */
export function notPostedNoticeData(title: string, proposalId: string): NoticeCardData {
  return noticeCardData(`'${title}' is shared here`, "Teams wouldn't let me post it in the reps' channel, so I've shared it where you proposed it. I'll tell you here as each partner school decides.", proposalId);
}

/**
 * Said before the card where it was proposed, when Teams did not take it in the reps' channel: refused
 * for good (`refused`: Together may not post there), or too busy for the whole of the retry policy.
 * `reason`: Teams' answer in words.
 */
export function notPostedHereData(title: string, reason: string, refused: boolean, proposalId: string): NoticeCardData {
  return noticeCardData(
    `I couldn't post '${title}' in the reps' channel`,
    refused
      ? `Teams said: ${reason}. So here it is for the partner schools' reps to decide on. A coordinator can type "channel reps" in the reps' channel to let me post there again.`
      : `Teams was too busy to take it there for several minutes (${reason}). So here it is for the partner schools' reps to decide on.`,
    proposalId,
  );
}

/** A copy of the card posted for an earlier version, once an edit has posted the new one: no buttons to decide on it. */
export function supersededCardData(agg: Aggregate, shownVersion: number): NoticeCardData {
  const p = agg.proposal;
  return noticeCardData(
    `Replaced: version ${shownVersion} of '${p.content.title}'`,
    `${p.proposer.name} edited this proposal, so this card is out of date. Version ${p.version} was posted again for every partner school to decide on; please use that card.`,
    p.id,
  );
}

/** What the proposer is told of someone else's change (undefined: nothing to tell). */
export function proposerNoticeData(agg: Aggregate, audit: AuditEntry, names: Names, now: Date): NoticeCardData | undefined {
  const p = agg.proposal;
  const title = p.content.title;
  const school = audit.schoolId ? names(audit.schoolId) || 'A partner school' : '';
  const when = formatDayTime(audit.at, now);
  const open = p.lifecycle === 'open';
  const pending = waitingOn(agg);
  const progress =
    statusOf(agg) === 'awaitingSignOff'
      ? 'Every partner school has approved: a coordinator gives the final sign-off next.'
      : `${approvedCount(agg)} of ${p.content.partnerSchoolIds.length} partner schools have approved${pending.length > 0 ? `; waiting for ${schoolList(pending, names)}` : ''}.`;
  switch (audit.kind) {
    case 'approved':
      return noticeCardData(`${school} approved '${title}'`, `By ${audit.by.name}, ${when}. ${progress}`, p.id, { comment: audit.comment, canEdit: open });
    case 'changesRequested':
      return noticeCardData(`${school} asks for changes to '${title}'`, `From ${audit.by.name}, ${when}. Edit the proposal and every partner school will look at it again.`, p.id, { comment: audit.comment, canEdit: open });
    case 'declined':
      return noticeCardData(`${school} declined '${title}'`, `By ${audit.by.name}, ${when}. You can edit the proposal (for example with other partner schools) or withdraw it.`, p.id, { comment: audit.comment, canEdit: open });
    case 'signedOff':
      return noticeCardData(`'${title}' is approved`, `${audit.by.name} gave the final sign-off, ${when}, after every partner school approved. It is announced to the reps.`, p.id);
    case 'withdrawn':
      return noticeCardData(`'${title}' was withdrawn`, `By ${audit.by.name}, ${when}.`, p.id, { comment: audit.comment });
    case 'edited':
      return noticeCardData(`'${title}' was edited`, `${audit.by.name} saved version ${audit.version}, ${when}. ${audit.comment}`, p.id, { canEdit: open });
    default:
      return undefined;
  }
}

/** The reps hear that a proposal is approved. */
export function approvedNoticeData(agg: Aggregate, names: Names): NoticeCardData {
  const p = agg.proposal;
  return noticeCardData(
    `Approved: ${p.content.title}`,
    `Every partner school approved (${schoolList(p.content.partnerSchoolIds, names)}) and ${p.closed?.by.name ?? 'a coordinator'} gave the final sign-off. Lead school: ${names(p.leadSchoolId) || 'not known'}; proposed by ${p.proposer.name}.`,
    p.id,
  );
}

export interface TagsCardData {
  readonly partnership: string;
  readonly needs: { label: string }[];
  readonly outcomes: { label: string }[];
  readonly isCoordinator: boolean;
}

export function tagsCardData(partnership: string, needs: readonly Tag[], outcomes: readonly Tag[], isCoordinator: boolean): TagsCardData {
  return { partnership, needs: needs.map((t) => ({ label: t.label })), outcomes: outcomes.map((t) => ({ label: t.label })), isCoordinator };
}
