import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { Clock } from '../clock';
import { untilWritten } from '../outbox/kernel';
import type { Logger } from '../logging';
import { encodeKey, parseRow, statusOf, type Tables } from '../storage/tables';
import type { Actor, Deadline, DeadlineAction, DeadlineRegistry } from './types';

/**
 * The deadline registry in Table Storage, keyed for the scheduler's question "what is due now?".
 *
 * Two kinds of row in one table:
 * - the item row (PartitionKey 'item|' + two hex digits of a hash of the id, RowKey = the encoded id;
 *   256 partitions, so no one partition takes every registration): the truth about an item — what it is,
 *   whether it is open, how far its nudges have got, when it is next due and where its due row is. Every
 *   change to it is guarded by its ETag, and the scheduler's claim is a write to it.
 * - the due row (PartitionKey 'due|' + UTC day of the next nudge, RowKey = next nudge ISO + '|' + encoded
 *   id + '|' + revision): a copy of the item filed by when it next needs looking at, carrying the item
 *   row's ETag as it was when the copy was made. A tick reads only due rows up to now (past and today's
 *   partitions, rows up to now), and claims an item by writing to its item row with that ETag: no second
 *   read when nothing changed meanwhile.
 *
 * A new due row is written before the item row that points at it, and the old one is deleted after, so a
 * crash leaves at worst a spare due row, never an item without one. A spare (stale) due row fails the ETag
 * claim; the tick then reads the item row, sees the row is not the current one, and deletes it.
 */

export const DEADLINES_TABLE = 'Deadlines';

const ITEM_PREFIX = 'item|';
const DUE_PREFIX = 'due|';
/** A due row not (yet) pointed at by its item is left alone this long: its item row may be being written. */
const STALE_AFTER_MS = 5 * 60_000;

/** How far an item's nudges have got. Read and decided by the nudges capability; kept here so it survives re-registration. */
export interface NudgeProgress {
  /** London day (YYYY-MM-DD) on which the last complete round of nudges went out. */
  readonly lastNudgeDay?: string;
  /** The one escalation to the coordinators has gone. */
  readonly escalated?: boolean;
  /** ISO instant: no nudge before it (someone pressed Snooze). */
  readonly snoozedUntil?: string;
  /** Entra ids of people who pressed "Stop reminding me" (non-essential items only). */
  readonly muted?: readonly string[];
  /** A round that reached only some of its recipients so far: which nudge (its ISO time) and who has had it. */
  readonly round?: { readonly at: string; readonly done: readonly string[] };
}

export type DeadlineStatus = 'open' | 'completed' | 'cancelled';

export interface StoredDeadline extends Deadline {
  readonly kind: 'deadline' | 'reminder';
  readonly status: DeadlineStatus;
  /** When this version of the item was registered (nudges never go out on that day: the person has just been asked). */
  readonly registeredAt: Date;
  readonly closedAt?: Date;
  readonly progress: NudgeProgress;
  /** When the scheduler must next look at it; undefined when nothing more is planned. */
  readonly nextAt?: Date;
  /** Bumped by every change; part of the due row's key, so a new due row never overwrites the current one. */
  readonly rev: number;
}

interface RowKey {
  readonly partitionKey: string;
  readonly rowKey: string;
}

/** A due row as a tick read it. */
export interface DueItem {
  readonly record: StoredDeadline;
  readonly key: RowKey;
  /** The item row's ETag when this copy was made ('' when not yet known). */
  readonly indexEtag: string;
  readonly writtenAt: string;
}

/** An item this instance has claimed (its claim is written on the item row, ETag `etag`). */
export interface Claimed {
  readonly record: StoredDeadline;
  readonly etag: string;
  readonly due?: RowKey;
}

interface Current {
  readonly record: StoredDeadline;
  readonly etag: string;
  readonly due?: RowKey;
  readonly claimedUntil: string;
}

/** A change to an open item (snooze, stop reminding): its new progress and next time, or a refusal. */
export type ItemChange<R> = { readonly ok: true; readonly progress: NudgeProgress; readonly nextAt: Date | undefined; readonly result: R } | { readonly ok: false; readonly result: R };

/** For benchmarks and tests: what the store has read. */
export interface ReadCounts {
  /** Entities returned by due-row queries. */
  dueRows: number;
  /** Item rows read by id (registrations, claims that found a stale copy, commands). */
  itemRows: number;
}

const ActionSchema = z.object({ title: z.string().min(1).max(80), verb: z.string().min(1).max(60), data: z.record(z.string().max(500)) });
const ActorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('person'), aadObjectId: z.string().min(1).max(100), teamsId: z.string().max(200).optional(), name: z.string().max(200).optional() }),
  z.object({ kind: z.literal('schoolReps'), schoolId: z.string().min(1).max(100) }),
]);
const LinkSchema = z.object({ title: z.string().min(1).max(80), url: z.string().url().max(2000).startsWith('https://') });
const ProgressSchema = z.object({
  lastNudgeDay: z.string().optional(),
  escalated: z.boolean().optional(),
  snoozedUntil: z.string().optional(),
  muted: z.array(z.string()).optional(),
  round: z.object({ at: z.string(), done: z.array(z.string()) }).optional(),
});

/** What a capability may register (checked, so a mistake fails loudly at the call, not later in a tick). */
const DeadlineInput = z.object({
  id: z.string().min(1).max(400),
  capability: z.string().min(1).max(40),
  who: ActorSchema,
  what: z.string().min(1).max(500),
  schoolId: z.string().max(100).optional(),
  dueAt: z.date().refine((d) => !Number.isNaN(d.getTime()), 'dueAt must be a valid date'),
  actions: z.array(ActionSchema).max(4),
  essential: z.boolean(),
  kind: z.enum(['deadline', 'reminder']).optional(),
  detail: z.string().max(500).optional(),
  link: LinkSchema.optional(),
});

const json = <S extends z.ZodTypeAny>(schema: S) =>
  z.string().transform((text, ctx) => {
    try {
      const parsed = schema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data as z.infer<S>;
      ctx.addIssue({ code: 'custom', message: parsed.error.issues.map((i) => i.message).join('; ') });
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
    }
    return z.NEVER;
  });

const isoDate = z.string().datetime().transform((s) => new Date(s));
const optionalIso = z.string().default('').transform((s) => (s ? new Date(s) : undefined));

const Row = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  etag: z.string().default(''),
  id: z.string().min(1),
  capability: z.string(),
  who: json(ActorSchema),
  what: z.string(),
  schoolId: z.string().default(''),
  dueAt: isoDate,
  actions: json(z.array(ActionSchema)),
  essential: z.boolean(),
  kind: z.enum(['deadline', 'reminder']),
  detail: z.string().default(''),
  link: z.string().default(''),
  status: z.enum(['open', 'completed', 'cancelled']),
  registeredAt: isoDate,
  closedAt: optionalIso,
  progress: json(ProgressSchema),
  nextAt: optionalIso,
  rev: z.number().int(),
  // item row only
  duePk: z.string().default(''),
  dueRk: z.string().default(''),
  claimedUntil: z.string().default(''),
  // due row only
  indexEtag: z.string().default(''),
  writtenAt: z.string().default(''),
});
type Row = z.infer<typeof Row>;

export class DeadlineStore implements DeadlineRegistry {
  private readonly table: TableClient;
  readonly reads: ReadCounts = { dueRows: 0, itemRows: 0 };

  constructor(
    tables: Tables,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.table = tables.client(DEADLINES_TABLE);
  }

  // ------------------------------------------------------------------------------------------------
  // The registry (what capabilities call)

  async register(item: Deadline): Promise<void> {
    const input = DeadlineInput.parse(item);
    await untilWritten(`deadlines: register ${item.id}`, async () => {
      const now = this.clock.now();
      const current = await this.read(input.id);
      const kind = input.kind ?? 'deadline';
      const wanted = { ...input, kind, schoolId: input.schoolId || (input.who.kind === 'schoolReps' ? input.who.schoolId : undefined) };
      if (current && current.record.status === 'open' && sameContent(current.record, wanted)) return true; // idempotent
      const before = current?.record;
      const sameDeadline = before && before.status === 'open' && before.dueAt.getTime() === wanted.dueAt.getTime() && before.kind === kind;
      const progress: NudgeProgress = sameDeadline ? before.progress : before?.progress.muted?.length ? { muted: before.progress.muted } : {};
      const next: StoredDeadline = {
        ...wanted,
        status: 'open',
        registeredAt: now,
        progress,
        // Looked at by the next tick, which plans the nudges with the partnership's current policy.
        nextAt: now,
        rev: (before?.rev ?? 0) + 1,
      };
      return (await this.write(current, next, now)) || undefined;
    });
  }

  complete(id: string): Promise<void> {
    return this.close(id, 'completed');
  }

  cancel(id: string): Promise<void> {
    return this.close(id, 'cancelled');
  }

  private async close(id: string, status: 'completed' | 'cancelled'): Promise<void> {
    await untilWritten(`deadlines: ${status === 'completed' ? 'complete' : 'cancel'} ${id}`, async () => {
      const current = await this.read(id);
      if (!current || current.record.status !== 'open') return true;
      const now = this.clock.now();
      const next: StoredDeadline = { ...current.record, status, closedAt: now, nextAt: undefined, rev: current.record.rev + 1 };
      return (await this.write(current, next, now)) || undefined;
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Reads

  async get(id: string): Promise<StoredDeadline | undefined> {
    return (await this.read(id))?.record;
  }

  /** Every open item (the coordinators' view; not on the scheduler's path). */
  async open(): Promise<StoredDeadline[]> {
    const out: StoredDeadline[] = [];
    const filter = odata`PartitionKey ge ${ITEM_PREFIX} and PartitionKey lt ${'item}'} and status eq 'open'`;
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      this.reads.itemRows += 1;
      const row = parseRow(Row, entity, this.logger, DEADLINES_TABLE);
      if (row) out.push(toRecord(row));
    }
    return out.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
  }

  /** For reports: deadlines (not reminders) due in [start, end), whatever became of them (item rows only). */
  async dueBetween(start: Date, end: Date): Promise<StoredDeadline[]> {
    const out: StoredDeadline[] = [];
    const filter = odata`PartitionKey ge ${ITEM_PREFIX} and PartitionKey lt ${'item}'} and kind eq 'deadline' and dueAt ge ${start.toISOString()} and dueAt lt ${end.toISOString()}`;
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      this.reads.itemRows += 1;
      const row = parseRow(Row, entity, this.logger, DEADLINES_TABLE);
      if (row) out.push(toRecord(row));
    }
    return out;
  }

  /** Due rows up to `now`, oldest first: reads the partitions of past days and today, and today's only up to now. */
  async due(now: Date, limit = 200): Promise<DueItem[]> {
    const nowIso = now.toISOString();
    const filter = odata`PartitionKey ge ${DUE_PREFIX} and PartitionKey le ${DUE_PREFIX + nowIso.slice(0, 10)} and RowKey le ${`${nowIso}|~`}`;
    const out: DueItem[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      this.reads.dueRows += 1;
      const row = parseRow(Row, entity, this.logger, DEADLINES_TABLE);
      if (!row) continue;
      out.push({ record: toRecord(row), key: { partitionKey: row.partitionKey, rowKey: row.rowKey }, indexEtag: row.indexEtag, writtenAt: row.writtenAt });
      if (out.length >= limit) break;
    }
    return out.sort((a, b) => (a.key.rowKey < b.key.rowKey ? -1 : 1));
  }

  // ------------------------------------------------------------------------------------------------
  // The scheduler's claim and its follow-up

  /**
   * Claims a due item for `leaseMs` (ETag write on its item row). Returns undefined when another
   * instance has it, or when the due row turned out to be a stale copy (which is then deleted).
   */
  async claim(due: DueItem, now: Date, leaseMs: number): Promise<Claimed | undefined> {
    const until = new Date(now.getTime() + leaseMs).toISOString();
    const key = itemKeyOf(due.record.id);
    if (due.indexEtag) {
      try {
        const done = await this.table.updateEntity({ ...key, claimedUntil: until }, 'Merge', { etag: due.indexEtag });
        return { record: due.record, etag: done.etag ?? '', due: due.key };
      } catch (err) {
        if (statusOf(err) !== 412 && statusOf(err) !== 404) throw err;
      }
    }
    // The item changed since this copy was made (or the copy is new): look at the item itself.
    const current = await this.read(due.record.id);
    const isCurrent = current?.record.status === 'open' && current.due?.partitionKey === due.key.partitionKey && current.due.rowKey === due.key.rowKey;
    if (!isCurrent) {
      const age = now.getTime() - (due.writtenAt ? Date.parse(due.writtenAt) : 0);
      if (age >= STALE_AFTER_MS || (current && current.record.status !== 'open')) await this.deleteDue(due.key);
      return undefined;
    }
    if (current.claimedUntil > now.toISOString()) return undefined; // another instance is on it
    try {
      const done = await this.table.updateEntity({ ...key, claimedUntil: until }, 'Merge', { etag: current.etag });
      return { record: current.record, etag: done.etag ?? '', due: due.key };
    } catch (err) {
      if (statusOf(err) === 412 || statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * After a claim: records the item's new progress and files it for `nextAt` (or nowhere), releasing the
   * claim. Returns false when the item changed meanwhile (completed, re-registered, snoozed): then
   * nothing is written and the change that won stands.
   */
  async settle(claimed: Claimed, progress: NudgeProgress, nextAt: Date | undefined, now: Date): Promise<boolean> {
    const next: StoredDeadline = { ...claimed.record, progress, nextAt, rev: claimed.record.rev + 1 };
    return this.write({ record: claimed.record, etag: claimed.etag, due: claimed.due, claimedUntil: '' }, next, now);
  }

  /**
   * Changes an open item outside a tick (snooze, stop reminding), under its ETag, retrying when it
   * changed meanwhile. `change` sees the item as stored; returns undefined for an unknown id.
   */
  async update<R>(id: string, change: (item: StoredDeadline) => ItemChange<R>): Promise<{ item: StoredDeadline; result: R; changed: boolean } | undefined> {
    const written = await untilWritten(`deadlines: change ${id}`, async () => {
      const current = await this.read(id);
      if (!current) return { found: undefined };
      const decided = change(current.record);
      if (!decided.ok) return { found: { item: current.record, result: decided.result, changed: false } };
      // The same change again (Teams redelivering the press): already so, nothing to write.
      const same = JSON.stringify(decided.progress) === JSON.stringify(current.record.progress) && decided.nextAt?.getTime() === current.record.nextAt?.getTime();
      if (same) return { found: { item: current.record, result: decided.result, changed: false } };
      const now = this.clock.now();
      const next: StoredDeadline = { ...current.record, progress: decided.progress, nextAt: decided.nextAt, rev: current.record.rev + 1 };
      return (await this.write(current, next, now)) ? { found: { item: next, result: decided.result, changed: true } } : undefined;
    });
    return written.found;
  }

  // ------------------------------------------------------------------------------------------------
  // Rows

  /**
   * Writes `next` over `current` (ETag) or as a new item: the new due row first, then the item row,
   * then the old due row goes. False on a conflict (nothing of ours is left behind).
   */
  private async write(current: Current | undefined, next: StoredDeadline, now: Date, claimedUntil = ''): Promise<boolean> {
    const due = next.status === 'open' && next.nextAt ? dueKeyOf(next) : undefined;
    if (due) await this.table.upsertEntity({ ...due, ...entityOf(next), indexEtag: '', writtenAt: now.toISOString() }, 'Replace');
    let etag: string | undefined;
    try {
      const item = { ...itemKeyOf(next.id), ...entityOf(next), duePk: due?.partitionKey ?? '', dueRk: due?.rowKey ?? '', claimedUntil };
      const done = current ? await this.table.updateEntity(item, 'Replace', { etag: current.etag }) : await this.table.createEntity(item);
      etag = done.etag;
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 409 || status === 404) {
        if (due) await this.deleteDue(due);
        return false;
      }
      throw err;
    }
    if (due && etag) await this.table.updateEntity({ ...due, indexEtag: etag }, 'Merge').catch(ignore404);
    if (current?.due && current.due.rowKey !== due?.rowKey) await this.deleteDue(current.due);
    return true;
  }

  private async read(id: string): Promise<Current | undefined> {
    try {
      const key = itemKeyOf(id);
      const entity = await this.table.getEntity<Record<string, unknown>>(key.partitionKey, key.rowKey);
      this.reads.itemRows += 1;
      const row = parseRow(Row, entity, this.logger, DEADLINES_TABLE);
      if (!row) return undefined;
      return { record: toRecord(row), etag: row.etag, due: row.duePk ? { partitionKey: row.duePk, rowKey: row.dueRk } : undefined, claimedUntil: row.claimedUntil };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  private async deleteDue(key: RowKey): Promise<void> {
    await this.table.deleteEntity(key.partitionKey, key.rowKey).catch(ignore404);
  }
}

/** Where an item's due row goes: by UTC day and instant of its next look, then id and revision. */
export function dueKeyOf(item: Pick<StoredDeadline, 'id' | 'nextAt' | 'rev'>): RowKey {
  const iso = item.nextAt!.toISOString();
  return { partitionKey: `${DUE_PREFIX}${iso.slice(0, 10)}`, rowKey: `${iso}|${encodeKey(item.id)}|${item.rev}` };
}

/** The stored fields shared by the item row and its due rows (for seeding benchmarks too). */
export function entityOf(item: StoredDeadline): Record<string, string | number | boolean> {
  return {
    id: item.id,
    capability: item.capability,
    who: JSON.stringify(item.who),
    what: item.what,
    schoolId: item.schoolId ?? '',
    dueAt: item.dueAt.toISOString(),
    actions: JSON.stringify(item.actions),
    essential: item.essential,
    kind: item.kind,
    detail: item.detail ?? '',
    link: item.link ? JSON.stringify(item.link) : '',
    status: item.status,
    registeredAt: item.registeredAt.toISOString(),
    closedAt: item.closedAt ? item.closedAt.toISOString() : '',
    progress: JSON.stringify(item.progress),
    nextAt: item.nextAt ? item.nextAt.toISOString() : '',
    rev: item.rev,
  };
}

/** Where an item's own row is: one of 256 partitions by a hash of its id, then the encoded id. */
export function itemKeyOf(id: string): RowKey {
  return { partitionKey: `${ITEM_PREFIX}${createHash('sha1').update(id).digest('hex').slice(0, 2)}`, rowKey: encodeKey(id) };
}

function toRecord(row: Row): StoredDeadline {
  let link: { title: string; url: string } | undefined;
  if (row.link) {
    try {
      const parsed = LinkSchema.safeParse(JSON.parse(row.link));
      link = parsed.success ? parsed.data : undefined;
    } catch {
      link = undefined;
    }
  }
  return {
    id: row.id,
    capability: row.capability,
    who: row.who as Actor,
    what: row.what,
    schoolId: row.schoolId || undefined,
    dueAt: row.dueAt,
    actions: row.actions as DeadlineAction[],
    essential: row.essential,
    kind: row.kind,
    detail: row.detail || undefined,
    link,
    status: row.status,
    registeredAt: row.registeredAt,
    closedAt: row.closedAt,
    progress: row.progress,
    nextAt: row.nextAt,
    rev: row.rev,
  };
}

function sameContent(a: StoredDeadline, b: Deadline & { kind: 'deadline' | 'reminder' }): boolean {
  return (
    a.capability === b.capability &&
    JSON.stringify(a.who) === JSON.stringify(b.who) &&
    a.what === b.what &&
    (a.schoolId ?? '') === (b.schoolId ?? '') &&
    a.dueAt.getTime() === b.dueAt.getTime() &&
    JSON.stringify(a.actions) === JSON.stringify(b.actions) &&
    a.essential === b.essential &&
    a.kind === b.kind &&
    (a.detail ?? '') === (b.detail ?? '') &&
    JSON.stringify(a.link ?? null) === JSON.stringify(b.link ?? null)
  );
}

function ignore404(err: unknown): void {
  if (statusOf(err) !== 404) throw err;
}
