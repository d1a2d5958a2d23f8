import type { DeadlineRegistry } from '../platform/deadlines/types';
import type { DirectoryStore } from '../platform/directory/store';
import type { Person } from '../platform/identity';
import { londonDate } from '../platform/time';
import { computeReport, type Report } from './figures';
import type { ImpactSources, OutcomeRecord, Period, Project, Scope, TermOverrides } from './model';
import { labelFor, outcomeAskWindow, outcomeDueAt, periodInstants, termPeriod, trendTerms, type OutcomeValues } from './rules';
import type { ImpactStore } from './store';
import { outcomeDeadline, TABLE_IDS, type TableId } from './cards';

/**
 * Builds reports: reads the records whose deciding date can fall in the period (through the sources
 * src/index.ts provides) and the partner schools, and hands them to the pure figures. A report is
 * named in a signed link by its id: '<from>.<to>.<all | school id>' (and '.<table>' for a CSV).
 */

export const REPORT_ID = /^\d{4}-\d{2}-\d{2}\.\d{4}-\d{2}-\d{2}\.(all|[0-9a-z-]{1,40})$/;
export const TABLE_ID = /^\d{4}-\d{2}-\d{2}\.\d{4}-\d{2}-\d{2}\.(all|[0-9a-z-]{1,40})\.(schools|needs|outcomes|projects|terms)$/;

export interface BuiltReport {
  readonly report: Report;
  /** The school's name when the report is for one school. */
  readonly schoolName?: string;
}

export class ImpactService {
  constructor(
    private readonly deps: {
      readonly store: ImpactStore;
      readonly sources: ImpactSources;
      readonly directory: DirectoryStore;
      readonly registry: DeadlineRegistry;
    },
  ) {}

  terms(): Promise<TermOverrides> {
    return this.deps.store.terms();
  }

  /** The report for a period, with the trend across the terms of its academic year(s): the records are read once, for both. */
  async report(period: Period, scope: Scope, now: Date): Promise<BuiltReport> {
    const terms = trendTerms(period, await this.terms(), londonDate(now));
    const from = [period.from, ...terms.map((t) => t.from)].sort()[0]!;
    const to = [period.to, ...terms.map((t) => t.to)].sort().at(-1)!;
    const { start, end } = periodInstants({ from, to });
    const [records, outcomes, schools] = await Promise.all([this.deps.sources.records({ start, end, from, to }), this.deps.store.outcomes(), this.deps.directory.schools()]);
    const report = computeReport({ ...records, outcomes }, schools, period, scope, now, terms.map(termPeriod));
    return { report, schoolName: scope.kind === 'school' ? schools.find((s) => s.id === scope.schoolId)?.name : undefined };
  }

  reportId(period: Period, scope: Scope): string {
    return `${period.from}.${period.to}.${scope.kind === 'all' ? 'all' : scope.schoolId}`;
  }

  /** The report a (signed) id names, or undefined when its school is no longer a partner. */
  async fromId(id: string, now: Date): Promise<(BuiltReport & { table?: TableId }) | undefined> {
    const [from, to, who, table] = id.split('.') as [string, string, string, string | undefined];
    if (from > to) return undefined;
    const scope: Scope = who === 'all' ? { kind: 'all' } : { kind: 'school', schoolId: who };
    if (scope.kind === 'school' && !(await this.deps.directory.schools()).some((s) => s.id === scope.schoolId)) return undefined;
    const period: Period = { label: labelFor({ from, to }, await this.terms()), from, to };
    const built = await this.report(period, scope, now);
    return { ...built, table: TABLE_IDS.find((t) => t === table) };
  }

  // ---------------------------------------------------------------------------------------------
  // Outcome records

  /**
   * The daily round (a scheduler job, once a day across instances): every approved project that ended
   * in the last weeks and has no outcome record becomes a deadline for its lead school's reps, so the
   * nudges ask them. Registering again is a no-op, so a project is asked about once.
   */
  async askForOutcomes(now: Date): Promise<number> {
    if (!(await this.deps.store.claimRound(londonDate(now), now))) return 0;
    const window = outcomeAskWindow(now);
    const [ended, recorded] = await Promise.all([this.deps.sources.projectsEnded(window.from, window.to), this.deps.store.outcomes()]);
    const done = new Set(recorded.map((o) => o.proposalId));
    const asking = ended.filter((p) => !done.has(p.id));
    for (const p of asking) await this.deps.registry.register(outcomeDeadline(p, outcomeDueAt(p.endDate)));
    return asking.length;
  }

  /** The project and its record, when `person` may record it (a rep of the lead school, or a coordinator). */
  async outcomeFor(proposalId: string, person: Person): Promise<{ kind: 'ok'; project: Project; current?: OutcomeRecord & { etag: string } } | { kind: 'missing' } | { kind: 'notLead'; lead: string }> {
    const project = await this.deps.sources.project(proposalId);
    if (!project) return { kind: 'missing' };
    if (!person.isCoordinator && !(person.isRep && person.schoolId === project.leadSchoolId)) {
      const lead = (await this.deps.directory.schools()).find((s) => s.id === project.leadSchoolId)?.name ?? 'the lead school';
      return { kind: 'notLead', lead };
    }
    return { kind: 'ok', project, current: await this.deps.store.outcome(proposalId) };
  }

  /**
   * Records what happened over the version the form showed. The same values sent again (Teams retries)
   * change nothing; different values over a version someone else has replaced are refused with theirs.
   */
  async recordOutcome(
    project: Project,
    current: (OutcomeRecord & { etag: string }) | undefined,
    formVersion: number,
    values: OutcomeValues,
    by: { aadObjectId: string; name: string },
    now: Date,
  ): Promise<{ kind: 'saved'; record: OutcomeRecord; changed: boolean } | { kind: 'conflict'; current: OutcomeRecord | undefined }> {
    const same = (r: OutcomeRecord) => (Object.keys(values) as (keyof OutcomeValues)[]).every((k) => r[k] === values[k]);
    if (current && same(current)) return { kind: 'saved', record: current, changed: false };
    if ((current?.version ?? 0) !== formVersion) return { kind: 'conflict', current };
    const record: OutcomeRecord = { proposalId: project.id, ...values, by, at: now, version: formVersion + 1 };
    const saved = await this.deps.store.saveOutcome(record, current?.etag);
    if (!saved.ok) {
      if (saved.current && same(saved.current)) return { kind: 'saved', record: saved.current, changed: false };
      return { kind: 'conflict', current: saved.current };
    }
    await this.deps.registry.complete(outcomeDeadline(project, outcomeDueAt(project.endDate)).id);
    return { kind: 'saved', record, changed: current !== undefined };
  }
}
