import { stringify } from 'csv-stringify/sync';
import { figure, SCHOOL_FIGURES, type FigureId, type Report } from './figures';
import type { Deadline } from '../platform/deadlines/types';
import { formatDayTime } from '../platform/time';
import { dateText, spanText, termLabel, yearLabel, type OutcomeInput } from './rules';
import type { OutcomeRecord, Project, Term } from './model';

/**
 * The words of the impact capability: the terms message, the Teams card's data (cards/impact.json),
 * and the report's tables, which the page and every CSV are both made from, so they always agree.
 */

// ---------------------------------------------------------------------------------------------
// Terms

function termLine(t: Term): string {
  return `- ${termLabel(t)}: ${spanText(t)}${t.custom ? '' : ' (usual dates)'}`;
}

/** `terms`: this academic year's terms and next year's. */
export function termsText(startYear: number, terms: (y: number) => readonly Term[], mayEdit: boolean): string {
  const years = [startYear, startYear + 1].map((y) => `**${yearLabel(y)}**\n\n${terms(y).map(termLine).join('\n')}`);
  const usual = 'Usual dates: autumn 1 Sep – 31 Dec, spring 1 Jan – Easter Sunday, summer Easter Monday – 31 Aug.';
  const edit = mayEdit ? ' Set your schools’ dates with `term set spring 2027 4 Jan 2027 - 26 Mar 2027`.' : '';
  return `The partnership’s terms (reports choose one with \`impact spring 2027\`):\n\n${years.join('\n\n')}\n\n${usual}${edit}`;
}

export function termSetText(t: Term, overridesYear: (y: number) => readonly Term[], startYear: number): string {
  return `Done: ${termLabel(t)} is now ${spanText(t)}.\n\n**${yearLabel(startYear)}**\n\n${overridesYear(startYear).map(termLine).join('\n')}`;
}


// ---------------------------------------------------------------------------------------------
// The report's tables (page and CSV)

export interface Column {
  readonly label: string;
  /** The figure's one-line definition ('' for a name column). */
  readonly definition: string;
}

export interface Table {
  readonly id: TableId;
  readonly title: string;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly (string | number)[])[];
  /** A last row of totals, when the table has one. */
  readonly total?: readonly (string | number)[];
}

export const TABLE_IDS = ['schools', 'terms', 'needs', 'outcomes', 'projects'] as const;
export type TableId = (typeof TABLE_IDS)[number];

const col = (id: FigureId): Column => ({ label: figure(id).label, definition: `${figure(id).definition} Date that counts: ${figure(id).date}.` });

export function reportTables(report: Report): Table[] {
  const schools: Table = {
    id: 'schools',
    title: 'Per school',
    columns: [{ label: 'School', definition: '' }, ...SCHOOL_FIGURES.map(col)],
    rows: report.schools.map((r) => [r.school.name, ...SCHOOL_FIGURES.map((f) => r.counts[f])]),
    total: report.scope.kind === 'all' ? ['All schools', ...SCHOOL_FIGURES.map((f) => report.totals[f])] : undefined,
  };
  const tag = (id: 'needs' | 'outcomes', title: string, name: string): Table => ({
    id,
    title,
    columns: [{ label: name, definition: '' }, col('tagProjects'), col('tagParticipants'), col('tagAchieved')],
    rows: report[id].map((r) => [r.label, r.projects, r.participants, r.achieved]),
  });
  const text = (label: string, definition: string): Column => ({ label, definition });
  const projects: Table = {
    id: 'projects',
    title: 'Projects: planned and achieved',
    columns: [
      text('Project', ''),
      text('Lead school', ''),
      text('Ends', ''),
      col('pupilsPlanned'),
      col('staffPlanned'),
      col('pupilsAchieved'),
      col('staffAchieved'),
      col('disadvantaged'),
      col('send'),
      text('Outcome promised', 'The measurable outcome the proposal promised (criterion 4).'),
      text('Outcome measured', 'What the lead school measured against it after the project ended (empty until recorded).'),
      text('Evidence', 'A link to the evidence the lead school gave.'),
      text('Legacy', 'One line from the lead school on what lasts.'),
    ],
    rows: report.projects.map(({ project: p, outcome: o }) => [
      p.title,
      report.schoolNames[p.leadSchoolId] ?? '',
      dateText(p.endDate),
      p.pupils,
      p.staff,
      o?.pupils ?? '',
      o?.staff ?? '',
      o?.disadvantaged ?? '',
      o?.send ?? '',
      p.outcome,
      o?.measured ?? 'Not recorded yet',
      o?.evidence ?? '',
      o?.legacy ?? '',
    ]),
  };
  const terms: Table = {
    id: 'terms',
    title: 'Across terms',
    columns: [{ label: 'Term', definition: '' }, ...SCHOOL_FIGURES.map(col)],
    rows: report.trend.map((t) => [t.label, ...SCHOOL_FIGURES.map((f) => t.totals[f])]),
  };
  return [schools, terms, tag('needs', 'Per mutual need', 'Mutual need'), tag('outcomes', 'Per funder outcome', 'Funder outcome'), projects];
}

/** "2.5 days", or "no projects signed off". */
export function turnaroundText(report: Report): string {
  const t = report.turnaround;
  if (t.medianDays === undefined) return 'no projects signed off';
  return `${t.medianDays} ${t.medianDays === 1 ? 'day' : 'days'} (${t.projects} ${t.projects === 1 ? 'project' : 'projects'})`;
}

/** Characters a spreadsheet reads as the start of a formula (with their full-width forms). */
const FORMULA_START = /^[=+\-@\t\r＝＋－＠]/;

/** A cell a spreadsheet shows as text, never runs: a leading formula character gets a single quote before it. */
export function safeCell(value: string | number): string {
  const text = String(value);
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** One table as CSV: UTF-8 with a byte-order mark (so Excel keeps "Siân"), a header row, the rows and any total. */
export function tableCsv(table: Table): string {
  const rows = [table.columns.map((c) => c.label), ...table.rows, ...(table.total ? [table.total] : [])];
  return `\uFEFF${stringify(rows.map((r) => r.map(safeCell)), { eof: true, record_delimiter: '\r\n', quoted_match: /[;\t]/ })}`;
}

// ---------------------------------------------------------------------------------------------
// The card in Teams (cards/impact.json)

export interface ImpactCardData {
  readonly partnership: string;
  readonly title: string;
  readonly span: string;
  readonly scopeLine: string;
  readonly headline: readonly { readonly title: string; readonly value: string }[];
  readonly schools: readonly { readonly name: string; readonly line: string }[];
  readonly pageUrl: string;
  readonly validFor: string;
}

const SHORT: Record<string, string> = {
  attended: 'attended',
  presented: 'presented',
  traineesSent: 'trainees sent',
  traineesHosted: 'hosted',
  proposalsLed: 'proposals led',
  proposalsPartnered: 'partnered',
  projectsApproved: 'approved',
  acknowledged: 'acknowledged',
};

export function impactCardData(report: Report, partnership: string, schoolName: string | undefined, link: { url: string; validFor: string }): ImpactCardData {
  const t = report.totals;
  const scopeLine = report.scope.kind === 'all' ? `Every partner school (${report.schools.length})` : `${schoolName ?? 'Your school'} only`;
  return {
    partnership,
    title: `Impact: ${report.period.label}`,
    span: `${dateText(report.period.from)} – ${dateText(report.period.to)}`,
    scopeLine,
    headline: [
      { title: 'Staff at TeachMeets', value: `${t.attended} attended, ${t.presented} presented` },
      { title: 'Trainees in swaps', value: `${t.traineesSent} sent, ${t.traineesHosted} hosted` },
      { title: 'Projects approved', value: String(t.projectsApproved) },
      { title: 'Participants planned', value: `${t.pupilsPlanned} pupils, ${t.staffPlanned} staff` },
      { title: 'Participants achieved', value: `${t.pupilsAchieved} pupils, ${t.staffAchieved} staff (${recordedCount(report)} of ${report.projects.length} ${report.projects.length === 1 ? 'project' : 'projects'} recorded)` },
      { title: 'Approval turnaround', value: turnaroundText(report) },
      { title: 'Announcements acknowledged', value: String(t.acknowledged) },
      { title: 'Nudges sent', value: String(t.nudges) },
      { title: 'Deadlines missed', value: String(t.deadlinesMissed) },
    ],
    schools: report.schools.map((r) => ({
      name: r.school.name,
      line: (Object.keys(SHORT) as (keyof typeof SHORT)[]).map((k) => `${r.counts[k as keyof typeof r.counts]} ${SHORT[k]}`).join(' · '),
    })),
    pageUrl: link.url,
    validFor: link.validFor,
  };
}

function recordedCount(report: Report): number {
  return report.projects.filter((p) => p.outcome).length;
}

// ---------------------------------------------------------------------------------------------
// Outcome records: the nudge that asks, the form (cards/impactOutcome.json), the answer

export const OUTCOME_FORM_VERB = 'impact.outcomeForm';
export const OUTCOME_SAVE_VERB = 'impact.outcomeSave';

/** The deadline the lead school's reps are nudged about once the project has ended. */
export function outcomeDeadline(project: Project, dueAt: Date): Deadline {
  return {
    id: `impact:outcome:${project.id}`,
    capability: 'impact',
    who: { kind: 'schoolReps', schoolId: project.leadSchoolId },
    what: `Record what happened in '${project.title.slice(0, 200)}'`,
    schoolId: project.leadSchoolId,
    dueAt,
    actions: [{ title: 'Record what happened', verb: OUTCOME_FORM_VERB, data: { proposalId: project.id } }],
    essential: true,
    detail: `It ended on ${dateText(project.endDate)}: pupils and staff who took part (counts only), the outcome you measured, evidence and legacy.`,
  };
}

export interface OutcomeFormData {
  readonly proposalId: string;
  readonly version: number;
  readonly heading: string;
  readonly planned: string;
  readonly promised: string;
  readonly values: { readonly pupils: string; readonly staff: string; readonly disadvantaged: string; readonly send: string; readonly measured: string; readonly evidence: string; readonly legacy: string };
  readonly problem: string;
  readonly hasProblem: boolean;
  readonly notice: string;
  readonly hasNotice: boolean;
  readonly recordedBy: string;
  readonly hasRecord: boolean;
  readonly pupilHint: string;
  /** The text may name a pupil: the form offers RECORD_ANYWAY beside Record. */
  readonly pupilCheck: boolean;
  readonly recordAnyway: string;
}

export const RECORD_ANYWAY = 'Record anyway: it is not a pupil';

export function outcomeFormData(project: Project, current: OutcomeRecord | undefined, now: Date, typed?: OutcomeInput, problem = '', notice = '', pupilCheck = false): OutcomeFormData {
  const shown = (n: number | undefined) => (n === undefined ? '' : String(n));
  return {
    proposalId: project.id,
    version: current?.version ?? 0,
    heading: `What happened in '${project.title}'`,
    planned: `Planned: ${project.pupils} pupils, ${project.staff} staff. Ended ${dateText(project.endDate)}.`,
    promised: `Outcome promised: ${project.outcome}`,
    values: typed ?? {
      pupils: shown(current?.pupils),
      staff: shown(current?.staff),
      disadvantaged: shown(current?.disadvantaged),
      send: shown(current?.send),
      measured: current?.measured ?? '',
      evidence: current?.evidence ?? '',
      legacy: current?.legacy ?? '',
    },
    problem,
    hasProblem: problem !== '',
    notice,
    hasNotice: notice !== '',
    recordedBy: current ? `Recorded by ${current.by.name}, ${formatDayTime(current.at, now)}. Sending the form again changes it.` : '',
    hasRecord: current !== undefined,
    pupilHint: 'Counts only. No pupil names or personal details, please.',
    pupilCheck,
    recordAnyway: RECORD_ANYWAY,
  };
}

export function outcomeSavedText(project: Project, record: OutcomeRecord, changed: boolean): string {
  return `${changed ? 'Changed' : 'Recorded'}: '${project.title}' reached ${record.pupils} pupils (${record.disadvantaged} disadvantaged, ${record.send} with SEND) and ${record.staff} staff, against ${project.pupils} pupils and ${project.staff} staff planned. It shows in \`impact\`.`;
}

export const IMPACT_WORDS = {
  linkRefused: 'This link has expired or is not valid. Type `impact` in Teams for a new one.',
  schoolGone: 'That school is no longer a partner school, so there is no report for it. Type `impact` in Teams for a new one.',
  notYourSchool: (own: string) => `You can see your own school’s impact only (${own}); coordinators see every school.`,
  noSchool: 'You are not a rep of a school yet, so there is no school’s impact to show. Ask a coordinator to add you.',
  unknownSchool: (name: string) => `I don’t know a school called "${name.slice(0, 80)}". Type \`directory\` to see the partner schools.`,
  noSchools: 'There are no partner schools yet: coordinators add them with `school add <name>`.',
  noProject: 'I can’t find that project among the approved ones. It may have been withdrawn.',
  notLead: (lead: string) => `Only ${lead}’s reps (or a coordinator) record what happened in this project: ${lead} leads it.`,
  changedMeanwhile: (by: string) => `${by} recorded this project’s outcome while you were filling in the form, so I haven’t changed it. Here is what is stored now; send the form again to change it.`,
} as const;
