import { pupilDataWarnings, pupilWarningText } from '../platform/pupilData';
import { z } from 'zod';
import { cardId, cardText, defineAction, type ActionResult, type ActionSpec } from '../platform/actions';
import type { Clock } from '../platform/clock';
import type { Turn } from '../platform/turn';
import type { CommandSpec } from '../platform/commands';
import { renderCard } from '../platform/cards';
import type { DirectoryStore } from '../platform/directory/store';
import { findSchool } from '../platform/directory/rules';
import { signedCsv, signedPage } from '../platform/downloads';
import type { SignedLinks } from '../platform/links';
import type { Download } from '../platform/server';
import { IMPACT_WORDS, impactCardData, OUTCOME_FORM_VERB, OUTCOME_SAVE_VERB, outcomeFormData, outcomeSavedText, reportTables, TABLE_IDS, tableCsv, termSetText, termsText, type TableId, RECORD_ANYWAY } from './cards';
import type { Scope } from './model';
import { refusedPage, reportPage } from './page';
import { academicYearOf, academicYearTerms, checkOutcome, parsePeriod, setTerm, termOn } from './rules';
import { REPORT_ID, TABLE_ID, type ImpactService } from './service';
import type { ImpactStore } from './store';
import { londonDate } from '../platform/time';

/**
 * `terms`, `term set` and `impact`; the report page and CSVs behind signed links; and the outcome
 * record form the nudges open once an approved project has ended.
 */

export interface ImpactRouteDeps {
  readonly service: ImpactService;
  readonly store: ImpactStore;
  readonly directory: DirectoryStore;
  readonly links: SignedLinks;
  readonly clock: Clock;
  readonly partnershipName: string;
}


const ProposalRef = z.object({ proposalId: cardId }).strip();
const OutcomeForm = ProposalRef.extend({
  version: z.string().regex(/^\d{1,6}$/).transform(Number),
  pupils: cardText(20).default(''),
  staff: cardText(20).default(''),
  disadvantaged: cardText(20).default(''),
  send: cardText(20).default(''),
  measured: cardText(2000).default(''),
  evidence: cardText(2000).default(''),
  legacy: cardText(2000).default(''),
  pupilDataChecked: z.literal('yes').optional(),
}).strip();

export function impactRoutes(deps: ImpactRouteDeps): { commands: CommandSpec[]; actions: ActionSpec[]; downloads: Download[] } {
  const { service, store, directory } = deps;

  const csv = signedCsv(deps.links, deps.clock, {
    route: '/api/impact/:id/table.csv',
    id: TABLE_ID,
    refused: IMPACT_WORDS.linkRefused,
    async csv(id) {
      const built = await service.fromId(id, deps.clock.now());
      if (!built?.table) return { missing: IMPACT_WORDS.schoolGone };
      const table = reportTables(built.report).find((t) => t.id === built.table)!;
      return { body: tableCsv(table), filename: `impact-${built.report.period.from}-${built.report.period.to}-${table.id}.csv` };
    },
  });

  const page = signedPage(deps.links, deps.clock, {
    route: '/api/impact/:id/report',
    id: REPORT_ID,
    refused: refusedPage(IMPACT_WORDS.linkRefused),
    async page(id) {
      const now = deps.clock.now();
      const built = await service.fromId(id, now);
      if (!built) return { missing: refusedPage(IMPACT_WORDS.schoolGone) };
      const links = Object.fromEntries(TABLE_IDS.map((t) => [t, csv.link(`${id}.${t}`, now).url])) as Record<TableId, string>;
      return { html: reportPage(built.report, deps.partnershipName, built.schoolName, { csv: links, validFor: 'for 15 minutes' }) };
    },
  });

  const commands: CommandSpec[] = [
    {
      name: 'terms',
      usage: 'terms',
      summary: 'The partnership’s school terms, which reports are chosen by',
      audience: 'rep',
      async run(turn) {
        const overrides = await store.terms();
        const current = termOn(londonDate(turn.now), overrides);
        await turn.reply(termsText(academicYearOf(current.name, current.year), (y) => academicYearTerms(y, overrides), turn.person.isCoordinator));
      },
    },
    {
      name: 'term set',
      usage: 'term set <autumn|spring|summer> <year> <first day> - <last day>',
      summary: 'Set a term’s dates, e.g. term set spring 2027 4 Jan 2027 - 26 Mar 2027',
      audience: 'coordinator',
      async run(turn, input) {
        const changed = await store.changeTerms((current) => setTerm(input.text, current));
        if (!changed.ok) {
          await turn.refuse(changed.message);
          return;
        }
        const overrides = changed.overrides;
        await turn.reply(termSetText(changed.term, (y) => academicYearTerms(y, overrides), academicYearOf(changed.term.name, changed.term.year)));
      },
    },
    {
      name: 'impact',
      usage: 'impact [spring 2027 | 2026/27 | 1 Sep 2026 - 31 Oct 2026] [for <school>]',
      summary: 'What the partnership has done in a term, a year or between dates, per school, with a report page and CSVs',
      audience: 'rep',
      async run(turn, input) {
        const split = /^(.*?)(?:^|\s)for\s+(.+)$/i.exec(input.text);
        const periodText = split ? split[1]! : input.text;
        const schoolText = split?.[2]?.trim();
        const schools = await directory.schools();
        if (schools.length === 0) return turn.refuse(IMPACT_WORDS.noSchools);
        let scope: Scope = { kind: 'all' };
        const named = schoolText ? findSchool(schools, schoolText) : undefined;
        if (schoolText && !named) return turn.refuse(IMPACT_WORDS.unknownSchool(schoolText));
        if (!turn.person.isCoordinator) {
          const own = schools.find((s) => s.id === turn.person.schoolId);
          if (!own) return turn.refuse(IMPACT_WORDS.noSchool);
          if (named && named.id !== own.id) return turn.refuse(IMPACT_WORDS.notYourSchool(own.name));
          scope = { kind: 'school', schoolId: own.id };
        } else if (named) {
          scope = { kind: 'school', schoolId: named.id };
        }
        const parsed = parsePeriod(periodText, turn.now, await store.terms());
        if (!parsed.ok) return turn.refuse(parsed.message);
        const built = await service.report(parsed.period, scope, turn.now);
        const link = page.link(service.reportId(parsed.period, scope), turn.now);
        await turn.replyCard(renderCard('impact', impactCardData(built.report, deps.partnershipName, built.schoolName, link)));
      },
    },
  ];

  /** The project, when the person pressing may record it; otherwise what to tell them. */
  async function recordable(turn: Turn, proposalId: string) {
    const found = await service.outcomeFor(proposalId, turn.person);
    if (found.kind === 'missing') {
      turn.record.outcome = 'invalid';
      return { message: IMPACT_WORDS.noProject } satisfies ActionResult;
    }
    if (found.kind === 'notLead') {
      turn.record.outcome = 'refused';
      return { message: IMPACT_WORDS.notLead(found.lead) } satisfies ActionResult;
    }
    return found;
  }

  const actions: ActionSpec[] = [
    defineAction({
      verb: OUTCOME_FORM_VERB,
      data: ProposalRef,
      audience: 'rep',
      async run(turn, data) {
        const found = await recordable(turn, data.proposalId);
        if ('message' in found) return found;
        return { card: renderCard('impactOutcome', outcomeFormData(found.project, found.current, turn.now)) };
      },
    }),
    defineAction({
      verb: OUTCOME_SAVE_VERB,
      data: OutcomeForm,
      audience: 'rep',
      async run(turn, data) {
        const found = await recordable(turn, data.proposalId);
        if ('message' in found) return found;
        const checked = checkOutcome(data);
        if (!checked.ok) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('impactOutcome', outcomeFormData(found.project, found.current, turn.now, data, checked.message)) };
        }
        const warnings = data.pupilDataChecked === 'yes' ? [] : pupilDataWarnings({ measured: data.measured, legacy: data.legacy }, (await directory.schools()).map((s) => s.name));
        if (warnings.length > 0) {
          turn.record.outcome = 'invalid';
          const problem = pupilWarningText(warnings, { measured: 'the outcome measured', legacy: 'the legacy' }, RECORD_ANYWAY);
          return { card: renderCard('impactOutcome', outcomeFormData(found.project, found.current, turn.now, data, problem, '', true)) };
        }
        const result = await service.recordOutcome(found.project, found.current, data.version, checked.values, { aadObjectId: turn.actor.aadObjectId, name: turn.actor.name }, turn.now);
        if (result.kind === 'conflict') {
          turn.record.outcome = 'refused';
          return { card: renderCard('impactOutcome', outcomeFormData(found.project, result.current, turn.now, undefined, IMPACT_WORDS.changedMeanwhile(result.current?.by.name ?? 'Someone else'))) };
        }
        if (!result.changed && found.current) turn.record.outcome = 'ignored';
        return { card: renderCard('impactOutcome', outcomeFormData(found.project, result.record, turn.now, undefined, '', outcomeSavedText(found.project, result.record, result.changed))) };
      },
    }),
  ];

  return { commands, actions, downloads: [page.download, csv.download] };
}
