import { dayInPeriod, inPeriod } from './rules';
import type { OutcomeRecord, Period, ProposalRecord, Records, SchoolRef, Scope } from './model';

/**
 * Every figure of the impact report, defined once: its label, a one-line definition (shown beside it on
 * the report page and in the CSV) and which date decides whether a record falls in the period. The
 * functions below compute them from plain records, so each number can be traced to the rows it counts.
 */

export interface FigureDefinition {
  readonly id: FigureId;
  readonly label: string;
  readonly definition: string;
  /** Which date puts a record in the period. */
  readonly date: string;
}

export type FigureId =
  | 'attended'
  | 'presented'
  | 'traineesSent'
  | 'traineesHosted'
  | 'proposalsLed'
  | 'proposalsPartnered'
  | 'projectsApproved'
  | 'pupilsPlanned'
  | 'staffPlanned'
  | 'pupilsAchieved'
  | 'staffAchieved'
  | 'disadvantaged'
  | 'send'
  | 'acknowledged'
  | 'nudges'
  | 'deadlinesMissed'
  | 'tagProjects'
  | 'tagParticipants'
  | 'tagAchieved'
  | 'turnaround';

export const FIGURES: readonly FigureDefinition[] = [
  { id: 'attended', label: 'Staff at TeachMeets (attended)', definition: 'Confirmed attendee places at TeachMeets that have taken place and were not cancelled, counted for the school the person signed up for.', date: 'the TeachMeet’s start' },
  { id: 'presented', label: 'Staff at TeachMeets (presented)', definition: 'Confirmed presenters at TeachMeets that have taken place and were not cancelled, counted for the presenter’s school.', date: 'the TeachMeet’s start' },
  { id: 'traineesSent', label: 'Trainees sent', definition: 'Trainees the school places in another school through agreed placement swaps (cancelled swaps left out).', date: 'the first day of the swap’s weeks' },
  { id: 'traineesHosted', label: 'Trainees hosted', definition: 'Trainees the school hosts from its partner in agreed placement swaps (cancelled swaps left out).', date: 'the first day of the swap’s weeks' },
  { id: 'proposalsLed', label: 'Proposals led', definition: 'Project proposals the school submitted as lead school (withdrawn proposals left out).', date: 'the first submission' },
  { id: 'proposalsPartnered', label: 'Proposals partnered', definition: 'Project proposals the school is a partner school in, not the lead (withdrawn proposals left out).', date: 'the first submission' },
  { id: 'projectsApproved', label: 'Projects approved', definition: 'Projects given final sign-off that the school leads or is a partner in; in the total each project counts once.', date: 'the final sign-off' },
  { id: 'pupilsPlanned', label: 'Pupils planned', definition: 'Pupils taking part as planned in the proposal (a count), for approved projects the school leads.', date: 'the final sign-off' },
  { id: 'staffPlanned', label: 'Staff planned', definition: 'Staff taking part as planned in the proposal (a count), for approved projects the school leads.', date: 'the final sign-off' },
  { id: 'pupilsAchieved', label: 'Pupils achieved', definition: 'Pupils who took part, as the lead school recorded after the project ended, for approved projects the school leads (0 until recorded).', date: 'the final sign-off' },
  { id: 'staffAchieved', label: 'Staff achieved', definition: 'Staff who took part, as the lead school recorded after the project ended, for approved projects the school leads (0 until recorded).', date: 'the final sign-off' },
  { id: 'disadvantaged', label: 'Disadvantaged pupils', definition: 'Of the pupils who took part, how many are disadvantaged (e.g. pupil premium), as a count recorded by the lead school.', date: 'the final sign-off' },
  { id: 'send', label: 'Pupils with SEND', definition: 'Of the pupils who took part, how many have special educational needs or disabilities, as a count recorded by the lead school.', date: 'the final sign-off' },
  { id: 'acknowledged', label: 'Announcements acknowledged', definition: '“Got it” presses on announcements by people of the school; each person counts once per announcement.', date: 'the press' },
  { id: 'nudges', label: 'Nudges sent', definition: 'Daily reminder messages Together sent to people of the school (at most one a person a day), by the school they are in now (people with no school count in the total only).', date: 'the day it was sent' },
  { id: 'deadlinesMissed', label: 'Deadlines missed', definition: 'The school’s deadlines (decisions, answers) that passed while still open, or were met only after they passed; cancelled ones left out.', date: 'the deadline' },
  { id: 'tagProjects', label: 'Projects', definition: 'Approved projects tagged with this mutual need or funder outcome (a project can serve several).', date: 'the final sign-off' },
  { id: 'tagParticipants', label: 'Participants planned', definition: 'Pupils and staff the approved projects with this tag plan to involve (counts from the proposals).', date: 'the final sign-off' },
  { id: 'tagAchieved', label: 'Participants achieved', definition: 'Pupils and staff who took part in the approved projects with this tag, as their lead schools recorded (0 until recorded).', date: 'the final sign-off' },
  { id: 'turnaround', label: 'Approval turnaround (median days)', definition: 'The median number of days from a proposal’s first submission to its final sign-off, over the projects signed off.', date: 'the final sign-off' },
];

export function figure(id: FigureId): FigureDefinition {
  return FIGURES.find((f) => f.id === id)!;
}

/** The per-school figures, in the order of the report's columns. */
export const SCHOOL_FIGURES = ['attended', 'presented', 'traineesSent', 'traineesHosted', 'proposalsLed', 'proposalsPartnered', 'projectsApproved', 'pupilsPlanned', 'staffPlanned', 'pupilsAchieved', 'staffAchieved', 'acknowledged', 'nudges', 'deadlinesMissed'] as const satisfies readonly FigureId[];
export type SchoolFigure = (typeof SCHOOL_FIGURES)[number];

export type Counts = Record<SchoolFigure, number>;

export interface SchoolRow {
  readonly school: SchoolRef;
  readonly counts: Counts;
}

export interface TagRow {
  readonly label: string;
  readonly projects: number;
  readonly participants: number;
  readonly achieved: number;
}

/** One term's totals, for the trend across terms. */
export interface TrendRow {
  readonly label: string;
  readonly totals: Counts;
}

/** An approved project in the period: what was planned and, once recorded, what was achieved. */
export interface ProjectRow {
  readonly project: ProposalRecord;
  readonly outcome?: OutcomeRecord;
}

export interface Report {
  readonly period: Period;
  readonly scope: Scope;
  readonly schools: readonly SchoolRow[];
  /** Every partner school's name by id (for the lead schools of projects). */
  readonly schoolNames: Readonly<Record<string, string>>;
  /** The partnership (or the one school) as a whole: sums, except projects approved, which counts each project once. */
  readonly totals: Counts;
  readonly needs: readonly TagRow[];
  readonly outcomes: readonly TagRow[];
  /** The approved projects (signed off in the period), oldest sign-off first. */
  readonly projects: readonly ProjectRow[];
  /** The totals of each term asked for (the trend across terms), computed from the same records. */
  readonly trend: readonly TrendRow[];
  /** Median days from submission to sign-off, and over how many projects (undefined when none). */
  readonly turnaround: { readonly medianDays: number | undefined; readonly projects: number };
}

const zero = (): Counts => Object.fromEntries(SCHOOL_FIGURES.map((f) => [f, 0])) as Counts;

/** The median of some numbers (the mean of the middle two for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Days between two instants, to one decimal place. */
export function daysBetween(from: Date, to: Date): number {
  return Math.round((to.getTime() - from.getTime()) / 8_640_000) / 10;
}

const schoolsOf = (p: ProposalRecord) => [p.leadSchoolId, ...p.partnerSchoolIds.filter((id) => id !== p.leadSchoolId)];

/**
 * The report for a period and scope at `now`, from the records (which may hold more than the period:
 * only the records whose deciding date is in the period count). Every partner school gets a row, even
 * with nothing to count. `trendPeriods` (terms) get their totals from the same records, which must
 * cover them too.
 */
export function computeReport(records: Records, schools: readonly SchoolRef[], period: Period, scope: Scope, now: Date, trendPeriods: readonly Period[] = []): Report {
  const shown = scope.kind === 'all' ? schools : schools.filter((s) => s.id === scope.schoolId);
  const rows = new Map<string, Counts>(shown.map((s) => [s.id, zero()]));
  const totals = zero();
  const inScope = (schoolId: string) => scope.kind === 'all' || schoolId === scope.schoolId;
  const add = (schoolId: string, f: SchoolFigure, n = 1) => {
    if (!inScope(schoolId)) return;
    const row = rows.get(schoolId);
    if (row) row[f] += n;
    totals[f] += n;
  };

  for (const place of records.places) {
    if (place.cancelled || place.startsAt.getTime() > now.getTime() || !inPeriod(place.startsAt, period)) continue;
    add(place.schoolId, place.role === 'presenter' ? 'presented' : 'attended');
  }

  for (const swap of records.swaps) {
    if (!dayInPeriod(swap.startsOn, period) || swap.sides.length !== 2) continue;
    const [a, b] = swap.sides as [{ schoolId: string; sends: number }, { schoolId: string; sends: number }];
    add(a.schoolId, 'traineesSent', a.sends);
    add(b.schoolId, 'traineesHosted', a.sends);
    add(b.schoolId, 'traineesSent', b.sends);
    add(a.schoolId, 'traineesHosted', b.sends);
  }

  const approved: ProposalRecord[] = [];
  const recorded = new Map(records.outcomes.map((o) => [o.proposalId, o]));
  for (const p of records.proposals) {
    const involves = schoolsOf(p).some(inScope);
    if (!p.withdrawn && inPeriod(p.submittedAt, period)) {
      add(p.leadSchoolId, 'proposalsLed');
      for (const partner of p.partnerSchoolIds) if (partner !== p.leadSchoolId) add(partner, 'proposalsPartnered');
    }
    if (p.signedOffAt && !p.withdrawn && inPeriod(p.signedOffAt, period)) {
      if (involves) approved.push(p);
      for (const id of schoolsOf(p)) {
        const row = rows.get(id);
        if (row && inScope(id)) row.projectsApproved += 1;
      }
      if (involves) totals.projectsApproved += 1;
      add(p.leadSchoolId, 'pupilsPlanned', p.pupils);
      add(p.leadSchoolId, 'staffPlanned', p.staff);
      const achieved = recorded.get(p.id);
      if (achieved) {
        add(p.leadSchoolId, 'pupilsAchieved', achieved.pupils);
        add(p.leadSchoolId, 'staffAchieved', achieved.staff);
      }
    }
  }

  for (const ack of records.acks) if (inPeriod(ack.at, period)) add(ack.schoolId, 'acknowledged');
  for (const nudge of records.nudges) if (dayInPeriod(nudge.day, period)) add(nudge.schoolId, 'nudges');
  for (const d of records.deadlines) {
    if (d.status === 'cancelled' || !inPeriod(d.dueAt, period) || d.dueAt.getTime() >= now.getTime()) continue;
    const missed = d.status === 'open' || (d.closedAt !== undefined && d.closedAt.getTime() > d.dueAt.getTime());
    if (missed) add(d.schoolId, 'deadlinesMissed');
  }

  const tagRows = (list: readonly string[], tagsOf: (p: ProposalRecord) => readonly string[]): TagRow[] => {
    const labels = [...list];
    for (const p of approved) for (const t of tagsOf(p)) if (!labels.includes(t)) labels.push(t);
    return labels.map((label) => {
      const tagged = approved.filter((p) => tagsOf(p).includes(label));
      const achieved = tagged.reduce((n, p) => n + (recorded.get(p.id)?.pupils ?? 0) + (recorded.get(p.id)?.staff ?? 0), 0);
      return { label, projects: tagged.length, participants: tagged.reduce((n, p) => n + p.pupils + p.staff, 0), achieved };
    });
  };

  return {
    period,
    scope,
    schools: shown.map((school) => ({ school, counts: rows.get(school.id)! })),
    schoolNames: Object.fromEntries(schools.map((school) => [school.id, school.name])),
    totals,
    needs: tagRows(records.mutualNeeds, (p) => p.mutualNeeds),
    outcomes: tagRows(records.funderOutcomes, (p) => p.funderOutcomes),
    trend: trendPeriods.map((p) => ({ label: p.label, totals: computeReport(records, schools, p, scope, now).totals })),
    projects: [...approved].sort((a, b) => a.signedOffAt!.getTime() - b.signedOffAt!.getTime()).map((project) => ({ project, outcome: recorded.get(project.id) })),
    turnaround: { medianDays: median(approved.map((p) => daysBetween(p.submittedAt, p.signedOffAt!))), projects: approved.length },
  };
}
