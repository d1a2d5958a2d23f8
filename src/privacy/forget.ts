import { randomUUID } from 'node:crypto';
import type { TransactionAction } from '@azure/data-tables';
import type { TableInventory } from '../platform/inventory';
import type { Logger } from '../platform/logging';
import { statusOf, type Tables } from '../platform/storage/tables';
import { eraseRow, type Subject } from './erasure';
import { rowsAbout } from './personalData';

/**
 * Erases one person from every table (see erasure.ts for what happens to each row). Per table:
 * 1. read the rows about them and decide each row's change;
 * 2. write each partition's changes in entity-group transactions: updates under the ETags read; a
 *    row re-keyed is deleted and created again in the same transaction (a delete in a transaction
 *    cannot carry an ETag, so where the table has a head row, it is rewritten unchanged under its
 *    ETag in that transaction: a writer holding an older state of the aggregate then fails and reads
 *    again, and cannot bring the old row back); rows that exist only because of the person are
 *    deleted whatever happened to them meanwhile (erasure wins);
 * 3. on 412 or 409 the table is read again and erased again, a few times.
 * Erasing twice finds nothing the second time.
 */

const ATTEMPTS = 5;
/** A transaction holds at most 100 operations; a re-keyed row takes two. */
const OPERATIONS = 100;

export interface Erased {
  readonly deleted: number;
  readonly anonymised: number;
}

export async function forgetPerson(tables: Tables, inventory: readonly TableInventory[], subject: Subject, logger: Logger): Promise<Erased> {
  const pseudonym = randomUUID();
  const aad = subject.aadObjectId.toLowerCase();
  let deleted = 0;
  let anonymised = 0;
  for (const table of inventory.filter((t) => t.about)) {
    for (let attempt = 1; ; attempt += 1) {
      const found = await rowsAbout(tables, table, aad);
      const byPartition = new Map<string, TransactionAction[][]>();
      const rekeyedIn = new Set<string>();
      let counts = { deleted: 0, anonymised: 0 };
      for (const { row, etag } of found) {
        const keys = { partitionKey: String(row.partitionKey), rowKey: String(row.rowKey) };
        const change = eraseRow(row, subject, pseudonym, table.erase?.(keys) ?? 'anonymise');
        const operations: TransactionAction[] =
          change.kind === 'keep'
            ? []
            : change.kind === 'delete'
              ? [['delete', keys]]
              : change.rekeyed
                ? [['delete', keys], ['create', change.row as never]]
                : [['update', change.row as never, 'Replace', { etag }]];
        if (operations.length === 0) continue;
        if (change.kind === 'replace' && change.rekeyed && table.head && keys.rowKey !== table.head) rekeyedIn.add(keys.partitionKey);
        if (change.kind === 'delete') counts.deleted += 1;
        else counts.anonymised += 1;
        const chunks = byPartition.get(keys.partitionKey) ?? [[]];
        if (chunks.at(-1)!.length + operations.length > OPERATIONS) chunks.push([]);
        chunks.at(-1)!.push(...operations);
        byPartition.set(keys.partitionKey, chunks);
      }
      try {
        for (const partition of rekeyedIn) await guardWithHead(tables, table.table, table.head!, partition, byPartition.get(partition)!);
        for (const chunks of byPartition.values()) for (const chunk of chunks) await tables.client(table.table).submitTransaction(chunk);
        deleted += counts.deleted;
        anonymised += counts.anonymised;
        break;
      } catch (err) {
        const status = statusOf(err);
        if ((status === 412 || status === 409 || status === 404) && attempt < ATTEMPTS) {
          logger.info({ table: table.table, status, attempt }, 'erasure met a concurrent change: reading again');
          counts = { deleted: 0, anonymised: 0 };
          continue;
        }
        throw err;
      }
    }
  }
  return { deleted, anonymised };
}

/** Puts the aggregate's head row, unchanged, under its ETag into the first transaction of the partition (unless it is already written there). */
async function guardWithHead(tables: Tables, table: string, head: string, partitionKey: string, chunks: TransactionAction[][]): Promise<void> {
  if (chunks.some((chunk) => chunk.some(([, entity]) => entity.rowKey === head))) return;
  const { etag, timestamp: _timestamp, ...row } = (await tables.client(table).getEntity(partitionKey, head)) as Record<string, unknown> & { etag: string; timestamp?: unknown };
  for (const key of Object.keys(row)) if (key.startsWith('odata.') || key.endsWith('@odata.type')) delete row[key];
  const first = chunks[0]!;
  if (first.length >= OPERATIONS) chunks.unshift([]);
  chunks[0]!.unshift(['update', row as never, 'Replace', { etag }]);
}
