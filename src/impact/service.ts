import type { DirectoryStore } from '../platform/directory/store';
import { computeReport, type Report } from './figures';
import type { ImpactSources, Period, Scope, TermOverrides } from './model';
import { labelFor, periodInstants } from './rules';
import type { ImpactStore } from './store';
import { TABLE_IDS, type TableId } from './cards';

/**
 * Builds reports: reads the records whose deciding date can fall in the period (through the sources
 * src/index.ts provides) and the partner schools, and hands them to the pure figures. A report is
 * named in a signed link by its id: '<from>.<to>.<all | school id>' (and '.<table>' for a CSV).
 */

export const REPORT_ID = /^\d{4}-\d{2}-\d{2}\.\d{4}-\d{2}-\d{2}\.(all|[0-9a-z-]{1,40})$/;
export const TABLE_ID = /^\d{4}-\d{2}-\d{2}\.\d{4}-\d{2}-\d{2}\.(all|[0-9a-z-]{1,40})\.(schools|needs|outcomes)$/;

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
    },
  ) {}

  terms(): Promise<TermOverrides> {
    return this.deps.store.terms();
  }

  async report(period: Period, scope: Scope, now: Date): Promise<BuiltReport> {
    const { start, end } = periodInstants(period);
    const [records, schools] = await Promise.all([this.deps.sources.records({ start, end, from: period.from, to: period.to }), this.deps.directory.schools()]);
    const report = computeReport(records, schools, period, scope, now);
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
}
