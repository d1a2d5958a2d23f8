import { ERASED_PREFIX } from '../platform/identity';
import type { TableInventory } from '../platform/inventory';
import type { Tables } from '../platform/storage/tables';

/**
 * What Together holds about one person, table by table, for `my data` (UK GDPR Art. 15, the right of
 * access). Every table that declares where rows about a person can be (`about` in its inventory) is
 * asked; a row is theirs when its keys or any value mention their Entra object id (some ids sit
 * inside JSON columns, such as a deadline's "who" or a swap's answers). A row kept under their
 * personal chat instead (`aboutPersonalChat`: an announcement delivered there) is theirs when it
 * mentions that chat's conversation id. Rows are given as stored.
 */

/** Whom `my data` is about: their Entra object id, and the conversation ids of their personal chats with Together. */
export interface Person {
  readonly aadObjectId: string;
  readonly personalChats: readonly string[];
}

export interface PersonalRecords {
  readonly table: string;
  readonly capability: string;
  /** The inventory's words for the personal data in this table. */
  readonly personalData: string;
  readonly rows: readonly Record<string, unknown>[];
}

export async function personalData(tables: Tables, inventory: readonly TableInventory[], person: Person): Promise<PersonalRecords[]> {
  return Promise.all(
    inventory
      .filter((t) => t.about)
      .map(async (t) => ({ table: t.table, capability: t.capability, personalData: t.personalData, rows: (await rowsAbout(tables, t, person)).map((r) => r.row) })),
  );
}

/** The rows of one table about a person, as stored (keys included, bookkeeping left out), with their ETags. */
export async function rowsAbout(tables: Tables, table: TableInventory, person: Person): Promise<{ row: Record<string, unknown>; etag: string }[]> {
  if (!table.about) return [];
  const aad = person.aadObjectId.toLowerCase();
  const chats = table.aboutPersonalChat ? person.personalChats.filter((id) => id.length > 0) : [];
  const filter = [table.about(aad), ...chats.map((id) => table.aboutPersonalChat!(id))].map((f) => `(${f})`).join(' or ');
  return (await readRows(tables, table.table, filter)).filter(({ row }) => mentions(row, aad, chats));
}

export type StoredRow = Record<string, unknown> & { partitionKey: string; rowKey: string };

/** A table's rows (all, or those a filter finds) as stored, keys included and the service's bookkeeping left out, with their ETags. */
export async function readRows(tables: Tables, table: string, filter?: string): Promise<{ row: StoredRow; etag: string }[]> {
  const rows: { row: StoredRow; etag: string }[] = [];
  for await (const entity of tables.client(table).listEntities<Record<string, unknown>>(filter ? { queryOptions: { filter } } : {})) {
    const { etag, timestamp: _timestamp, ...row } = entity as Record<string, unknown> & { etag: string; timestamp?: unknown };
    for (const key of Object.keys(row)) if (key.startsWith('odata.') || key.endsWith('@odata.type')) delete row[key];
    rows.push({ row: row as StoredRow, etag });
  }
  return rows;
}

/** Whether any value mentions the person's Entra object id (lower case, in any case) or one of their personal chats' conversation ids (as Teams gave them). */
function mentions(row: Record<string, unknown>, aad: string, chats: readonly string[]): boolean {
  return Object.values(row).some((value) => typeof value === 'string' && (value.toLowerCase().includes(aad) || chats.some((id) => value.includes(id))));
}

/** An Entra object id, or an erasure's pseudonym (a GUID after a prefix: someone else too, and shown as such whole). */
const GUID_ANYWHERE = new RegExp(`(?:${ERASED_PREFIX})?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`, 'gi');
const TEAMS_ID_ANYWHERE = /\b29:[A-Za-z0-9_-]{8,}/g;

/**
 * For the person's own download: other people's ids inside their rows (a running order, a swap's
 * answers, a conversation reference) are replaced by "(someone else)"; their own stay. Ids of things
 * (TeachMeets, proposals) are not GUIDs and stay too.
 */
export function redactOthers(rows: readonly Record<string, unknown>[], aadObjectId: string, ownTeamsIds: readonly string[]): Record<string, unknown>[] {
  const aad = aadObjectId.toLowerCase();
  const own = new Set(ownTeamsIds);
  const redact = (text: string) => text.replace(GUID_ANYWHERE, (id) => (id.toLowerCase() === aad ? id : '(someone else)')).replace(TEAMS_ID_ANYWHERE, (id) => (own.has(id) ? id : '(someone else)'));
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'string' ? redact(value) : value])));
}
