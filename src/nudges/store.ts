import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import type { Logger } from '../platform/logging';
import { changeRow } from '../platform/outbox/kernel';
import { parseRow, statusOf, type Tables } from '../platform/storage/tables';
import { DEFAULT_POLICY, type Policy } from './model';
import type { Refusable } from './rules';

/**
 * The nudges capability's own rows (the items themselves are in the platform's deadline registry):
 * - the policy coordinators set (PartitionKey 'settings'), changed under its ETag;
 * - the scheduler's lease (PartitionKey 'lease'): one instance runs the round at a time, so what is due
 *   for a person at once is gathered into one message; a crashed instance's lease lapses;
 * - one partition per London day (PartitionKey 'day|YYYY-MM-DD'): a row per person messaged that day
 *   (RowKey = Entra id) saying what the day's message carried, written in the same transaction as the
 *   outbox row that owes them that message (service.ts). The row is created, never overwritten, so a
 *   person gets at most one message a day however many instances decide one; what it carried is what
 *   the message's buttons show again (dayItems) and what reports count as sent (sentBetween).
 */

export const NUDGES_TABLE = 'Nudges';

const HolidaySchema = z.object({ from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), label: z.string().max(60).default('') });
const PolicySchema = z.object({
  days: z.array(z.number().int().min(1).max(7)).min(1).max(7),
  start: z.string().regex(/^\d{2}:\d{2}$/),
  end: z.string().regex(/^\d{2}:\d{2}$/),
  ladder: z.array(z.number().int().min(0).max(60)).min(1).max(5),
  holidays: z.array(HolidaySchema).max(200),
});
const SettingsRow = z.object({ policy: z.string(), etag: z.string() });
const LeaseRow = z.object({ until: z.string().default(''), etag: z.string() });
const DayRow = z.object({ state: z.enum(['sending', 'sent']), items: z.string().default('[]'), etag: z.string() });

/** A person's row for a London day: whether a message went (and what it carried), with its ETag. */
export interface DayRecord {
  /** False only for a row an older version left while sending ('sending'): no message is recorded. */
  readonly sent: boolean;
  /** What the message carried: 'n:<id>' nudges, 'e:<id>' escalations. */
  readonly items: readonly string[];
  readonly etag: string;
}

/** The partition of one London day's rows: each person's day row and the digests owed to them (outbox rows). */
export function dayPartition(day: string): string {
  return `day|${day}`;
}

export class NudgeStore {
  private readonly table: TableClient;

  constructor(
    tables: Tables,
    private readonly logger: Logger,
  ) {
    this.table = tables.client(NUDGES_TABLE);
  }

  async policy(): Promise<Policy> {
    return (await this.readPolicy()).policy;
  }

  /** Changes the policy under its ETag (retrying when two coordinators change it at once). */
  async changePolicy(change: (policy: Policy) => Refusable<{ policy: Policy; message: string }>): Promise<{ ok: boolean; message: string }> {
    const changed = await changeRow<Policy, { ok: boolean; message: string }, { ok: boolean; message: string }>(
      this.table,
      async () => {
        const current = await this.readPolicy();
        return { value: current.policy, etag: current.etag };
      },
      (policy) => {
        const decided = change(policy);
        if (!decided.ok) return { refused: { ok: false, message: decided.message } };
        return { write: { partitionKey: 'settings', rowKey: 'policy', policy: JSON.stringify(decided.policy) }, value: { ok: true, message: decided.message } };
      },
      'nudges: the policy',
    );
    return changed.ok ? changed.value : changed.refusal;
  }

  private async readPolicy(): Promise<{ policy: Policy; etag?: string }> {
    const entity = await this.get('settings', 'policy');
    if (!entity) return { policy: DEFAULT_POLICY };
    const row = parseRow(SettingsRow, entity, this.logger, NUDGES_TABLE);
    if (!row) return { policy: DEFAULT_POLICY, etag: String(entity.etag ?? '') };
    let parsed: z.SafeParseReturnType<unknown, Policy>;
    try {
      parsed = PolicySchema.safeParse(JSON.parse(row.policy));
    } catch {
      parsed = PolicySchema.safeParse(undefined);
    }
    if (!parsed.success) {
      this.logger.warn({ table: NUDGES_TABLE }, 'the stored nudge policy does not parse; using the defaults');
      return { policy: DEFAULT_POLICY, etag: row.etag };
    }
    return { policy: parsed.data, etag: row.etag };
  }

  /** The scheduler's lease: its ETag when this instance now holds it, undefined when another does. */
  async acquireLease(now: Date, leaseMs: number): Promise<string | undefined> {
    const until = new Date(now.getTime() + leaseMs).toISOString();
    try {
      return (await this.table.createEntity({ partitionKey: 'lease', rowKey: 'tick', until })).etag;
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    const entity = await this.get('lease', 'tick');
    const row = entity ? parseRow(LeaseRow, entity, this.logger, NUDGES_TABLE) : undefined;
    if (!row || row.until > now.toISOString()) return undefined;
    try {
      return (await this.table.updateEntity({ partitionKey: 'lease', rowKey: 'tick', until }, 'Replace', { etag: row.etag })).etag;
    } catch (err) {
      if (statusOf(err) === 412 || statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async releaseLease(etag: string): Promise<void> {
    await this.table.updateEntity({ partitionKey: 'lease', rowKey: 'tick', until: '' }, 'Replace', { etag }).catch((err) => {
      if (statusOf(err) !== 412 && statusOf(err) !== 404) throw err;
    });
  }

  /**
   * What each of `aadObjectIds` was sent on `day` (point reads, side by side), for a round whose
   * first try found that one of them already had a day row.
   */
  async dayRecords(day: string, aadObjectIds: readonly string[]): Promise<Map<string, DayRecord>> {
    const out = new Map<string, DayRecord>();
    await Promise.all(
      aadObjectIds.map(async (aad) => {
        const rowKey = aad.toLowerCase();
        const entity = await this.get(dayPartition(day), rowKey);
        const row = entity ? parseRow(DayRow, entity, this.logger, NUDGES_TABLE) : undefined;
        if (row) out.set(rowKey, { sent: row.state === 'sent', items: row.state === 'sent' ? parseItems(row.items) : [], etag: row.etag });
        else if (entity) out.set(rowKey, { sent: false, items: [], etag: String(entity.etag ?? '') });
      }),
    );
    return out;
  }

  /**
   * The write that makes a person's day row say what today's message carries, for the transaction
   * that also owes them the message (the outbox's effect row in the same partition): created, so a
   * second message that day fails the whole transaction (409); or, over a row an older version left
   * mid-send ('sending', never recorded as sent), replaced under its ETag.
   */
  dayAction(day: string, aadObjectId: string, items: readonly string[], over?: DayRecord): TransactionAction {
    const entity = { partitionKey: dayPartition(day), rowKey: aadObjectId.toLowerCase(), state: 'sent', items: JSON.stringify(items) };
    return over ? ['update', entity, 'Replace', { etag: over.etag }] : ['create', entity];
  }

  /** What this person's message on `day` carried ('n:<id>' nudges, 'e:<id>' escalations); empty when none went. */
  async dayItems(day: string, aadObjectId: string): Promise<string[]> {
    const entity = await this.get(dayPartition(day), aadObjectId.toLowerCase());
    const row = entity ? parseRow(DayRow, entity, this.logger, NUDGES_TABLE) : undefined;
    return row?.state === 'sent' ? parseItems(row.items) : [];
  }

  /** For reports: the daily messages that went out on London days `from` to `to` (inclusive): who, which day. */
  async sentBetween(from: string, to: string): Promise<{ day: string; aadObjectId: string }[]> {
    const out: { day: string; aadObjectId: string }[] = [];
    const filter = odata`PartitionKey ge ${dayPartition(from)} and PartitionKey le ${dayPartition(to)} and state eq 'sent'`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })) {
      if (typeof row.partitionKey === 'string' && typeof row.rowKey === 'string') out.push({ day: row.partitionKey.slice('day|'.length), aadObjectId: row.rowKey });
    }
    return out;
  }

  private async get(partitionKey: string, rowKey: string): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }
}

function parseItems(text: string): string[] {
  try {
    const parsed = z.array(z.string()).safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
