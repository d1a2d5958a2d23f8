import type { TableInventory } from '../platform/inventory';
import type { Tables } from '../platform/storage/tables';

/**
 * What Together holds about one person, table by table, for `my data` (UK GDPR Art. 15, the right of
 * access). Every table that declares where rows about a person can be (`about` in its inventory) is
 * asked; a row is theirs when its keys or any value mention their Entra object id (some ids sit
 * inside JSON columns, such as a deadline's "who" or a swap's answers). Rows are given as stored.
 */

export interface PersonalRecords {
  readonly table: string;
  readonly capability: string;
  /** The inventory's words for the personal data in this table. */
  readonly personalData: string;
  readonly rows: readonly Record<string, unknown>[];
}

export async function personalData(tables: Tables, inventory: readonly TableInventory[], aadObjectId: string): Promise<PersonalRecords[]> {
  const aad = aadObjectId.toLowerCase();
  const found = await Promise.all(
    inventory
      .filter((t) => t.about)
      .map(async (t) => {
        const rows: Record<string, unknown>[] = [];
        for await (const entity of tables.client(t.table).listEntities<Record<string, unknown>>({ queryOptions: { filter: t.about!(aad) } })) {
          if (!mentions(entity, aad)) continue;
          const { etag: _etag, ...row } = entity as Record<string, unknown> & { etag?: unknown };
          for (const key of Object.keys(row)) if (key.startsWith('odata.') || key.endsWith('@odata.type')) delete row[key];
          rows.push(row);
        }
        return { table: t.table, capability: t.capability, personalData: t.personalData, rows };
      }),
  );
  return found;
}

function mentions(entity: Record<string, unknown>, aad: string): boolean {
  return Object.entries(entity).some(([key, value]) => key !== 'etag' && typeof value === 'string' && value.toLowerCase().includes(aad));
}
