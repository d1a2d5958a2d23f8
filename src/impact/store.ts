import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { Logger } from '../platform/logging';
import { parseRow, statusOf, type Tables } from '../platform/storage/tables';
import type { TermOverrides } from './model';
import type { Refusable } from './rules';

/**
 * The impact capability's own rows: the school terms coordinators have set (PartitionKey 'settings',
 * RowKey 'terms'; one row, changed under its ETag so two coordinators setting terms at once both land).
 * Everything else a report shows is read from the other capabilities' records.
 */

export const IMPACT_TABLE = 'Impact';

const DateText = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const Overrides = z.record(z.string().regex(/^(autumn|spring|summer) \d{4}$/), z.object({ from: DateText, to: DateText }));
const TermsRow = z.object({ terms: z.string(), etag: z.string() });

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
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const current = await this.readTerms();
      const decided = change(current.overrides);
      if (!decided.ok) return decided;
      const entity = { partitionKey: 'settings', rowKey: 'terms', terms: JSON.stringify(decided.overrides) };
      try {
        if (current.etag) await this.table.updateEntity(entity, 'Replace', { etag: current.etag });
        else await this.table.createEntity(entity);
        return decided;
      } catch (err) {
        if (statusOf(err) !== 412 && statusOf(err) !== 409) throw err;
      }
    }
    throw new Error('impact: the terms kept changing');
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
}
