import { odata, type TransactionAction } from '@azure/data-tables';
import { newPseudonym } from '../platform/identity';
import type { InTheirChat, TableInventory } from '../platform/inventory';
import type { Logger } from '../platform/logging';
import { untilWritten } from '../platform/outbox/kernel';
import { isOutboxRow, withoutRecipient } from '../platform/outbox/outbox';
import { statusOf, type Tables } from '../platform/storage/tables';
import { eraseRow, type Subject } from './erasure';
import { readRows } from './personalData';

/**
 * Erases one person from every table (see erasure.ts for what happens to each row). Per table:
 * 1. for a table of aggregates, read every head row first (a TeachMeet's event row): its ETag as of
 *    before the rows are read, so a change to that aggregate made after this moment fails the
 *    erasure's write (412) and the table is read again;
 * 2. read the whole table and decide each row's change: a row is about the person when their Entra
 *    object id, a Teams id, a name of theirs or their personal chat's conversation id (read by the
 *    caller before this erasure deletes the stored chat; in keys, as the table writes it there)
 *    appears in its keys or values (names, and ids inside JSON such as a running order or a card
 *    copy's conversation reference, sit in rows no key points to, so no narrower query finds them
 *    all); an erasure is rare, and a table scan is its price. A copy of a card posted in their
 *    personal chat (kept so later changes update it) is deleted, or taken out of the row that lists it
 *    (the table's `erase` and `withoutCopies`): nobody else reads that chat, and with its id replaced
 *    by the pseudonym every later update to the copy would fail; copies in channels and group chats stay;
 * 3. write each partition's changes in entity-group transactions: updates under the ETags read; a row
 *    re-keyed is deleted and created again in the same transaction as the head row rewritten under
 *    its step-1 ETag (a delete in a transaction cannot carry an ETag itself); rows that exist only
 *    because of the person are deleted whatever happened to them meanwhile (erasure wins);
 * 4. on 412 or 409 the table is read again and erased again, by the commit kernel's one conflict loop
 *    (platform/outbox/kernel.ts `untilWritten`).
 * Erasing twice finds nothing the second time.
 */

/** A transaction holds at most 100 operations; a re-keyed row takes two. */
const OPERATIONS = 100;

export interface Erased {
  readonly deleted: number;
  readonly anonymised: number;
}

export async function forgetPerson(tables: Tables, inventory: readonly TableInventory[], subject: Subject, logger: Logger, now: () => Date = () => new Date()): Promise<Erased> {
  // Marked as erased (platform/identity.ts): a message a later change addresses to it is dropped, not attempted.
  const pseudonym = newPseudonym();
  const aad = subject.aadObjectId.toLowerCase();
  const chats = new Set(subject.personalChats.filter((id) => id.length > 0).map((id) => id.toLowerCase()));
  const inTheirChat: InTheirChat = (conversationId) => typeof conversationId === 'string' && chats.has(conversationId.toLowerCase());
  let deleted = 0;
  let anonymised = 0;
  for (const table of inventory.filter((t) => t.about)) {
    // One table at a time: read it whole, decide each row, write; a concurrent change (412, 409, 404) means reading again (the kernel's one conflict loop).
    const counted = await untilWritten(`erasure in ${table.table}`, async () => {
      const heads = table.head ? await readRows(tables, table.table, odata`RowKey eq ${table.head}`) : [];
      const headOf = new Map(heads.map((h) => [h.row.partitionKey, h]));
      const byPartition = new Map<string, TransactionAction[]>();
      const guarded = new Set<string>();
      const counts = { deleted: 0, anonymised: 0 };
      // The aggregates' own rows first: a message whose outcome is recorded on one of them that is
      // about the person (their delivery row) is theirs too.
      const rows = await readRows(tables, table.table);
      const aboutThem = new Set<string>();
      const where = (partitionKey: unknown, rowKey: unknown) => `${String(partitionKey)}\n${String(rowKey)}`;
      for (const { row, etag } of [...rows.filter((r) => !isOutboxRow(String(r.row.rowKey))), ...rows.filter((r) => isOutboxRow(String(r.row.rowKey)))]) {
        const keys = { partitionKey: row.partitionKey, rowKey: row.rowKey };
        // A message still owed to them is dropped (taken off a message to many); one about them to
        // someone else goes without their name.
        const outbox = isOutboxRow(String(row.rowKey)) ? withoutRecipient(row, aad, (rowKey) => aboutThem.has(where(row.partitionKey, rowKey)), inTheirChat) : undefined;
        // `from`: the row with what goes already taken out of it; changed if that or scrubbing changed anything.
        const scrubbed = (from: Record<string, unknown>, erasure: 'delete' | 'anonymise'): ReturnType<typeof eraseRow> =>
          ((next) => (next.kind === 'keep' && JSON.stringify(from) !== JSON.stringify(row) ? { kind: 'replace', row: from, rekeyed: false } : next))(eraseRow(from, subject, pseudonym, erasure, table.personalChatInKeys));
        const erased: ReturnType<typeof eraseRow> =
          outbox === 'delete'
            ? { kind: 'delete' }
            : outbox
              ? scrubbed(outbox, 'anonymise')
              : // Copies of cards in their personal chat go: as rows of their own (`erase`) or from the row (`withoutCopies`).
                scrubbed(table.withoutCopies?.(row, inTheirChat) ?? row, table.erase?.(row, aad, inTheirChat) ?? 'anonymise');
        if (erased.kind === 'keep') continue;
        if (!outbox) aboutThem.add(where(row.partitionKey, row.rowKey));
        const change = erased.kind === 'replace' && table.afterErase ? { ...erased, row: table.afterErase(erased.row, now()) } : erased;
        const isHead = table.head === row.rowKey;
        // The head row is written under the ETag read first, so a change since then is not lost.
        const headEtag = isHead ? (headOf.get(row.partitionKey)?.etag ?? etag) : etag;
        const operations: TransactionAction[] =
          change.kind === 'delete'
            ? [['delete', keys]]
            : change.rekeyed
              ? [['delete', keys], ['create', change.row as never]]
              : [['update', change.row as never, 'Replace', { etag: headEtag }]];
        if (isHead) guarded.add(row.partitionKey);
        if (change.kind === 'delete') counts.deleted += 1;
        else counts.anonymised += 1;
        byPartition.set(row.partitionKey, [...(byPartition.get(row.partitionKey) ?? []), ...operations]);
      }
      try {
        for (const [partition, operations] of byPartition) {
          const head = headOf.get(partition);
          const needsGuard = table.head && head && !guarded.has(partition) && operations.some(([kind]) => kind === 'delete' || kind === 'create');
          const all: TransactionAction[] = needsGuard ? [['update', head.row as never, 'Replace', { etag: head.etag }], ...operations] : operations;
          // Large partitions go in several transactions; the guard is in the first, so the rest follow a checked state.
          for (let i = 0; i < all.length; i += OPERATIONS) {
            let end = Math.min(all.length, i + OPERATIONS);
            if (end < all.length && all[end - 1]![0] === 'delete' && all[end]![0] === 'create') end -= 1; // keep a re-key together
            await tables.client(table.table).submitTransaction(all.slice(i, end));
            i = end - OPERATIONS;
          }
        }
        return counts;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412 || status === 409 || status === 404) {
          logger.info({ table: table.table, status }, 'erasure met a concurrent change: reading again');
          return undefined;
        }
        throw err;
      }
    });
    deleted += counted.deleted;
    anonymised += counted.anonymised;
  }
  return { deleted, anonymised };
}
