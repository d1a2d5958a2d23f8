import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { Logger } from '../platform/logging';
import { parseRow, statusOf, type Tables } from '../platform/storage/tables';
import { DEFAULT_POLICY, type Policy } from './model';
import type { Refusable } from './rules';

/**
 * The nudges capability's own rows (the items themselves are in the platform's deadline registry):
 * - the policy coordinators set (PartitionKey 'settings'), changed under its ETag;
 * - the scheduler's lease (PartitionKey 'lease'): one instance runs a tick at a time, and a crashed
 *   instance's lease lapses;
 * - one row per person per London day (PartitionKey 'day|YYYY-MM-DD', RowKey = Entra id): the claim on
 *   "today's message" for that person, then the record of what it carried. Created before the message
 *   is sent, marked sent after, so two instances never both message a person on one day, and a crash
 *   between the two leads to a retry once the claim lapses.
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
const DayRow = z.object({ state: z.enum(['sending', 'sent']), until: z.string().default(''), items: z.string().default('[]'), etag: z.string() });

/** This person's message for the day: ours to send, already sent (with what it carried), or being sent by another instance. */
export type DayClaim =
  | { readonly kind: 'mine'; readonly day: string; readonly aadObjectId: string; readonly etag: string }
  | { readonly kind: 'sent'; readonly items: readonly string[] }
  | { readonly kind: 'busy' };

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
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const current = await this.readPolicy();
      const decided = change(current.policy);
      if (!decided.ok) return { ok: false, message: decided.message };
      const entity = { partitionKey: 'settings', rowKey: 'policy', policy: JSON.stringify(decided.policy) };
      try {
        if (current.etag) await this.table.updateEntity(entity, 'Replace', { etag: current.etag });
        else await this.table.createEntity(entity);
        return { ok: true, message: decided.message };
      } catch (err) {
        if (statusOf(err) !== 412 && statusOf(err) !== 409) throw err;
      }
    }
    throw new Error('nudges: the policy kept changing');
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

  async claimDay(day: string, aadObjectId: string, now: Date, leaseMs: number): Promise<DayClaim> {
    const partitionKey = `day|${day}`;
    const rowKey = aadObjectId.toLowerCase();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    try {
      const created = await this.table.createEntity({ partitionKey, rowKey, state: 'sending', until, items: '[]' });
      return { kind: 'mine', day, aadObjectId: rowKey, etag: created.etag ?? '' };
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    const entity = await this.get(partitionKey, rowKey);
    const row = entity ? parseRow(DayRow, entity, this.logger, NUDGES_TABLE) : undefined;
    if (!row) return { kind: 'busy' };
    if (row.state === 'sent') return { kind: 'sent', items: parseItems(row.items) };
    if (row.until > now.toISOString()) return { kind: 'busy' };
    try {
      // A claim that lapsed: the instance that made it stopped before it could say the message had gone.
      const taken = await this.table.updateEntity({ partitionKey, rowKey, state: 'sending', until, items: '[]' }, 'Replace', { etag: row.etag });
      return { kind: 'mine', day, aadObjectId: rowKey, etag: taken.etag ?? '' };
    } catch (err) {
      if (statusOf(err) === 412 || statusOf(err) === 404) return { kind: 'busy' };
      throw err;
    }
  }

  /** The message has gone: records what it carried (so a retry of those items knows they reached this person). */
  async markSent(claim: Extract<DayClaim, { kind: 'mine' }>, items: readonly string[]): Promise<void> {
    await this.table.updateEntity({ partitionKey: `day|${claim.day}`, rowKey: claim.aadObjectId, state: 'sent', until: '', items: JSON.stringify(items) }, 'Replace', { etag: claim.etag }).catch((err) => {
      // Our claim lapsed and another instance took it over: it will send (again); nothing to record here.
      if (statusOf(err) !== 412 && statusOf(err) !== 404) throw err;
      this.logger.warn({ status: statusOf(err) }, 'a nudge claim lapsed before the message was recorded as sent');
    });
  }

  /** The message could not be sent: gives the day back. */
  async releaseDay(claim: Extract<DayClaim, { kind: 'mine' }>): Promise<void> {
    await this.table.deleteEntity(`day|${claim.day}`, claim.aadObjectId, { etag: claim.etag }).catch((err) => {
      if (statusOf(err) !== 412 && statusOf(err) !== 404) throw err;
    });
  }

  /** What this person's message on `day` carried ('n:<id>' nudges, 'e:<id>' escalations); empty when none went. */
  async dayItems(day: string, aadObjectId: string): Promise<string[]> {
    const entity = await this.get(`day|${day}`, aadObjectId.toLowerCase());
    const row = entity ? parseRow(DayRow, entity, this.logger, NUDGES_TABLE) : undefined;
    return row?.state === 'sent' ? parseItems(row.items) : [];
  }

  /** For reports: the daily messages that went out on London days `from` to `to` (inclusive): who, which day. */
  async sentBetween(from: string, to: string): Promise<{ day: string; aadObjectId: string }[]> {
    const out: { day: string; aadObjectId: string }[] = [];
    const filter = odata`PartitionKey ge ${`day|${from}`} and PartitionKey le ${`day|${to}`} and state eq 'sent'`;
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
