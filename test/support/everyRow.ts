import { TableClient, TableServiceClient } from '@azure/data-tables';
import { storageConnectionString } from './hooks';
import type { SimUser } from './simulator';

/**
 * Every row of every table with this prefix, as one lower-cased text per row, with the keys' parts
 * also decoded from base64url (see encodeKey): to check that nothing identifies a person any more.
 */
export async function everyRow(prefix: string): Promise<string[]> {
  const connection = storageConnectionString();
  const service = TableServiceClient.fromConnectionString(connection, { allowInsecureConnection: true });
  const rows: string[] = [];
  for await (const table of service.listTables()) {
    if (!table.name?.startsWith(prefix)) continue;
    const client = TableClient.fromConnectionString(connection, table.name, { allowInsecureConnection: true });
    for await (const entity of client.listEntities<Record<string, unknown>>()) {
      const decoded = `${entity.partitionKey}|${entity.rowKey}`.split('|').map((part) => Buffer.from(part, 'base64url').toString('utf8'));
      rows.push(`${table.name}: ${JSON.stringify(entity)} ${decoded.join(' ')}`.toLowerCase());
    }
  }
  return rows;
}

/** The rows that hold the person's Entra object id, name or Teams id. */
export function identifying(rows: readonly string[], user: SimUser): string[] {
  const marks = [user.aadObjectId, user.name, user.id].map((m) => m.toLowerCase());
  return rows.filter((row) => marks.some((m) => row.includes(m)));
}
