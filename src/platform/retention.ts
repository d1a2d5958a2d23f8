import { odata, type TransactionAction } from '@azure/data-tables';
import type { TableInventory } from './inventory';
import type { Logger } from './logging';
import { statusOf, type Tables } from './storage/tables';
import { londonFields, londonToInstant } from './time';

/**
 * Retention: records past their time are purged by the scheduler, in every instance, in bounded batches.
 *
 * Why: UK GDPR's storage limitation. A partnership keeps its programme records (TeachMeets, swaps,
 * proposals, announcements and acknowledgements) for a number of academic years (RETENTION_YEARS,
 * default 6), and delivery logs (who was sent what, per-day nudge rows, closed deadlines) for fewer
 * (DELIVERY_RETENTION_YEARS, default 1). How:
 * 1. the cutoff is pure: the 1 September that starts the academic year N years before the current one
 *    (Europe/London), so the current academic year and the N before it are kept whole;
 * 2. each table declares its rules in its inventory (which rows, by which date, and whether a row takes
 *    its whole partition with it, as a TeachMeet takes its sign-ups);
 * 3. a round deletes at most `budget` rows; an instance runs one an hour (its queries read whole
 *    tables), and the next at once while the last one found more than it could take; deleting is
 *    idempotent, so several instances purging at once only meet 404s, which are fine.
 */

export type RetentionKind = 'programme' | 'delivery';

export interface RetentionRule {
  readonly kind: RetentionKind;
  /** What goes, for the inventory ("TeachMeets (with their sign-ups) that ended"). */
  readonly what: string;
  /** An OData filter (escaped with `odata`) for the rows whose deciding date is before `cutoff` (ISO 8601). */
  expired(cutoff: string): string;
  /** The rows found are heads: their whole partition goes with them. */
  readonly wholePartition?: boolean;
  /**
   * What the rows found leave behind on their partition's head row (the table's `head`) as they go:
   * an announcement keeps its delivery counts when the delivery records are purged. Written in the
   * same transaction as the deletions, under the head's ETag, so each row is counted in exactly once
   * however many instances purge at the same moment.
   */
  readonly foldIntoHead?: FoldIntoHead;
}

export interface FoldIntoHead {
  /** The fields of the rows found that `fold` reads. */
  readonly select: readonly string[];
  /** The fields to merge into the head row, given the head as stored and the rows about to go. Pure. */
  fold(head: Readonly<Record<string, unknown>>, rows: readonly Readonly<Record<string, unknown>>[]): Record<string, unknown>;
}

export interface RetentionPolicy {
  readonly programmeYears: number;
  readonly deliveryYears: number;
}

/** The first day kept: 1 September of the academic year `years` before the one `now` is in (London dates). */
export function retentionCutoff(now: Date, years: number): string {
  const { year, month } = londonFields(now);
  const currentStart = month >= 9 ? year : year - 1;
  return `${currentStart - years}-09-01`;
}

const OPERATIONS = 100;

type Found = Record<string, unknown> & { partitionKey: string; rowKey: string };
const HOUR = 3_600_000;

export class RetentionJob {
  private running: Promise<number> | undefined;
  private nextAt = 0;

  constructor(
    private readonly tables: Tables,
    private readonly inventory: readonly TableInventory[],
    private readonly policy: RetentionPolicy,
    private readonly logger: Logger,
    private readonly budget = 500,
  ) {}

  /** On a scheduler tick: one bounded round if one is due (see above); returns how many rows went. */
  async tick(now: Date): Promise<number> {
    if (this.running) return this.running;
    if (now.getTime() < this.nextAt) return 0;
    this.running = this.round(now).finally(() => (this.running = undefined));
    let gone = 0;
    try {
      gone = await this.running;
    } finally {
      // Even after a failure, not again before the hour: every round reads whole tables.
      this.nextAt = gone >= this.budget ? 0 : now.getTime() + HOUR;
    }
    return gone;
  }

  private async round(now: Date): Promise<number> {
    let left = this.budget;
    for (const table of this.inventory) {
      for (const rule of table.retention ?? []) {
        if (left <= 0) return this.budget - left;
        const cutoff = retentionCutoff(now, rule.kind === 'programme' ? this.policy.programmeYears : this.policy.deliveryYears);
        // Midnight in London that day, as the dates stored are instants.
        const instant = (londonToInstant(cutoff, '00:00') ?? new Date(`${cutoff}T00:00:00Z`)).toISOString();
        let gone = 0;
        try {
          const found = await this.find(table.table, rule.expired(instant), left, rule.foldIntoHead?.select);
          if (rule.foldIntoHead && table.head) {
            gone = await this.foldAndDelete(table.table, table.head, rule.foldIntoHead, found);
          } else if (rule.wholePartition) {
            for (const head of found) {
              if (left - gone <= 0) break;
              gone += await this.deletePartition(table.table, head.partitionKey, left - gone);
            }
          } else {
            gone = await this.deleteRows(table.table, found);
          }
        } catch (err) {
          // One rule failing (a table briefly unavailable) does not stop the others; the next round tries again.
          this.logger.warn({ retention: { table: table.table, kind: rule.kind }, err: { message: (err as Error).message } }, 'retention rule failed');
        }
        if (gone > 0) this.logger.info({ retention: { table: table.table, kind: rule.kind, cutoff, deleted: gone } }, 'purged records past their retention');
        left -= gone;
      }
    }
    return this.budget - left;
  }

  private async find(table: string, filter: string, limit: number, fields: readonly string[] = []): Promise<Found[]> {
    const keys: Found[] = [];
    for await (const row of this.tables.client(table).listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey', ...fields] } })) {
      const at = { partitionKey: String(row.partitionKey), rowKey: String(row.rowKey) };
      keys.push(fields.length > 0 ? { ...Object.fromEntries(fields.map((f) => [f, row[f]])), ...at } : at);
      if (keys.length >= limit) break;
    }
    return keys;
  }

  /**
   * Deletes rows partition by partition, in transactions that also merge what they leave behind into
   * the head row under its ETag. A transaction that meets a change (another instance folding the same
   * rows, a head being written) does nothing: the rows are found again next round. Rows whose head is
   * gone are plain deletions.
   */
  private async foldAndDelete(table: string, head: string, fold: FoldIntoHead, rows: readonly Found[]): Promise<number> {
    const client = this.tables.client(table);
    const byPartition = new Map<string, Found[]>();
    for (const row of rows) if (row.rowKey !== head) byPartition.set(row.partitionKey, [...(byPartition.get(row.partitionKey) ?? []), row]);
    let deleted = 0;
    for (const [partitionKey, group] of byPartition) {
      for (let i = 0; i < group.length; i += OPERATIONS - 1) {
        const chunk = group.slice(i, i + OPERATIONS - 1);
        let stored: Record<string, unknown> & { etag: string };
        try {
          stored = await client.getEntity<Record<string, unknown>>(partitionKey, head);
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
          deleted += await this.deleteRows(table, chunk);
          continue;
        }
        const patch = fold.fold(stored, chunk);
        try {
          await client.submitTransaction([['update', { ...patch, partitionKey, rowKey: head }, 'Merge', { etag: stored.etag }], ...chunk.map((r): TransactionAction => ['delete', { partitionKey: r.partitionKey, rowKey: r.rowKey }])]);
          deleted += chunk.length;
        } catch (err) {
          const status = statusOf(err);
          if (status !== 412 && status !== 404) throw err;
          break;
        }
      }
    }
    return deleted;
  }

  /** Deletes a partition's rows, head last (so a round cut short leaves the head to be found again). */
  private async deletePartition(table: string, partitionKey: string, limit: number): Promise<number> {
    const rows = await this.find(table, odata`PartitionKey eq ${partitionKey}`, Number.MAX_SAFE_INTEGER);
    const ordered = [...rows.filter((r) => !this.isHead(table, r.rowKey)), ...rows.filter((r) => this.isHead(table, r.rowKey))].slice(0, limit);
    return this.deleteRows(table, ordered);
  }

  private isHead(table: string, rowKey: string): boolean {
    return this.inventory.find((t) => t.table === table)?.head === rowKey;
  }

  /** In transactions of up to 100 per partition; a batch that meets a row already gone is done row by row. */
  private async deleteRows(table: string, rows: readonly { partitionKey: string; rowKey: string }[]): Promise<number> {
    const client = this.tables.client(table);
    const byPartition = new Map<string, { partitionKey: string; rowKey: string }[]>();
    for (const row of rows) byPartition.set(row.partitionKey, [...(byPartition.get(row.partitionKey) ?? []), row]);
    let deleted = 0;
    for (const group of byPartition.values()) {
      for (let i = 0; i < group.length; i += OPERATIONS) {
        const chunk = group.slice(i, i + OPERATIONS);
        try {
          await client.submitTransaction(chunk.map((keys): TransactionAction => ['delete', keys]));
          deleted += chunk.length;
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
          for (const keys of chunk) {
            await client.deleteEntity(keys.partitionKey, keys.rowKey).then(
              () => (deleted += 1),
              (e: unknown) => {
                if (statusOf(e) !== 404) throw e;
              },
            );
          }
        }
      }
    }
    return deleted;
  }
}
