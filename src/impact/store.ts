import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { Logger } from '../platform/logging';
import { changeRow } from '../platform/outbox/kernel';
import { parseRow, statusOf, type Tables } from '../platform/storage/tables';
import type { OutcomeRecord, TermOverrides } from './model';
import type { Refusable } from './rules';

/**
 * The impact capability's own rows:
 * - the school terms coordinators have set (PartitionKey 'settings', RowKey 'terms'; one row, changed
 *   under its ETag so two coordinators setting terms at once both land);
 * - what lead schools recorded after their projects ended (PartitionKey 'outcome', RowKey = proposal
 *   id; counts only), written under the ETag of the version the form showed;
 * - the daily round that asks for them (PartitionKey 'round', RowKey = London day): created by the
 *   first instance to start it that day, so the round runs once a day however many instances run.
 * Everything else a report shows is read from the other capabilities' records.
 */

export const IMPACT_TABLE = 'Impact';

const DateText = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const Overrides = z.record(z.string().regex(/^(autumn|spring|summer) \d{4}$/), z.object({ from: DateText, to: DateText }));
const TermsRow = z.object({ terms: z.string(), etag: z.string() });
const count = z.number().int().min(0);
const OutcomeRow = z.object({
  rowKey: z.string().min(1),
  pupils: count,
  staff: count,
  disadvantaged: count,
  send: count,
  measured: z.string(),
  evidence: z.string().default(''),
  legacy: z.string().default(''),
  byAad: z.string(),
  byName: z.string().default(''),
  at: z.string().datetime(),
  version: z.number().int().min(1),
  etag: z.string(),
});

export type OutcomeSave = { ok: true } | { ok: false; current: OutcomeRecord | undefined };

export class ImpactStore {
  private readonly table: TableClient;

  constructor(
    tables: Tables,
    private readonly logger: Logger,
  ) {
    this.table = tables.client(IMPACT_TABLE);
  }

  /** The terms coordinators have set (the rest follow the default pattern). */
  async terms(): Promise<TermOverrides> {
    return (await this.readTerms()).overrides;
  }

  /** Changes the terms under the row's ETag, deciding again from what is stored when someone else changed them first. */
  async changeTerms<T>(change: (current: TermOverrides) => Refusable<{ overrides: TermOverrides } & T>): Promise<Refusable<T>> {
    const changed = await changeRow<TermOverrides, Refusable<T>, Refusable<T>>(
      this.table,
      async () => {
        const current = await this.readTerms();
        return { value: current.overrides, etag: current.etag };
      },
      (overrides) => {
        const decided = change(overrides);
        if (!decided.ok) return { refused: decided };
        return { write: { partitionKey: 'settings', rowKey: 'terms', terms: JSON.stringify(decided.overrides) }, value: decided };
      },
      'impact: the terms',
    );
    return changed.ok ? changed.value : changed.refusal;
  }

  private async readTerms(): Promise<{ overrides: TermOverrides; etag?: string }> {
    let entity: Record<string, unknown>;
    try {
      entity = await this.table.getEntity<Record<string, unknown>>('settings', 'terms');
    } catch (err) {
      if (statusOf(err) === 404) return { overrides: {} };
      throw err;
    }
    const row = parseRow(TermsRow, entity, this.logger, IMPACT_TABLE);
    if (!row) return { overrides: {}, etag: String(entity.etag ?? '') };
    let parsed: z.SafeParseReturnType<unknown, TermOverrides>;
    try {
      parsed = Overrides.safeParse(JSON.parse(row.terms));
    } catch {
      parsed = Overrides.safeParse(undefined);
    }
    if (!parsed.success) {
      this.logger.warn({ table: IMPACT_TABLE }, 'the stored terms do not parse; using the default terms');
      return { overrides: {}, etag: row.etag };
    }
    return { overrides: parsed.data, etag: row.etag };
  }

  // ---------------------------------------------------------------------------------------------
  // Outcome records

  async outcome(proposalId: string): Promise<(OutcomeRecord & { etag: string }) | undefined> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>('outcome', proposalId);
      const row = parseRow(OutcomeRow, entity, this.logger, IMPACT_TABLE);
      return row ? { ...toOutcome(row), etag: row.etag } : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Every outcome record (one partition: one row per approved project that has one). */
  async outcomes(): Promise<OutcomeRecord[]> {
    const out: OutcomeRecord[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: "PartitionKey eq 'outcome'" } })) {
      const row = parseRow(OutcomeRow, entity, this.logger, IMPACT_TABLE);
      if (row) out.push(toOutcome(row));
    }
    return out;
  }

  /**
   * Stores a record over the version `etag` names (undefined: there is none yet). Refused, with what
   * is stored now, when someone else recorded or changed it first.
   */
  async saveOutcome(record: OutcomeRecord, etag: string | undefined): Promise<OutcomeSave> {
    const entity = {
      partitionKey: 'outcome',
      rowKey: record.proposalId,
      pupils: record.pupils,
      staff: record.staff,
      disadvantaged: record.disadvantaged,
      send: record.send,
      measured: record.measured,
      evidence: record.evidence,
      legacy: record.legacy,
      byAad: record.by.aadObjectId,
      byName: record.by.name,
      at: record.at.toISOString(),
      version: record.version,
    };
    try {
      if (etag) await this.table.updateEntity(entity, 'Replace', { etag });
      else await this.table.createEntity(entity);
      return { ok: true };
    } catch (err) {
      if (statusOf(err) !== 412 && statusOf(err) !== 409) throw err;
      return { ok: false, current: await this.outcome(record.proposalId) };
    }
  }

  /** Claims the daily round for a London day: true for the one instance that starts it. */
  async claimRound(day: string, now: Date): Promise<boolean> {
    try {
      await this.table.createEntity({ partitionKey: 'round', rowKey: day, at: now.toISOString() });
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw err;
    }
  }
}

function toOutcome(row: z.infer<typeof OutcomeRow>): OutcomeRecord {
  return {
    proposalId: row.rowKey,
    pupils: row.pupils,
    staff: row.staff,
    disadvantaged: row.disadvantaged,
    send: row.send,
    measured: row.measured,
    evidence: row.evidence,
    legacy: row.legacy,
    by: { aadObjectId: row.byAad, name: row.byName },
    at: new Date(row.at),
    version: row.version,
  };
}
