import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import type { Logger } from '../platform/logging';
import { parseRow, statusOf, type Tables } from '../platform/storage/tables';
import type { Ack, Announcement, Audience, Endpoint, KeptCounts, Recipient, RecipientRow, RecipientState, Status, Target } from './model';
import { keepCounts } from './rules';

/**
 * Announcements in Table Storage. One partition per announcement (PartitionKey = its id) holds its
 * row, one row per recipient (its delivery state, written by the outbox as each message settles), the
 * recipients' messages while they are owed (the outbox's rows) and one row per acknowledgement (keyed
 * by person, so each person counts once). Beside them: an index partition ordered newest first for
 * `announcements` and the partnership's setting.
 */

export const ANNOUNCEMENTS_TABLE = 'Announcements';

const MAIN = 'announcement';
const INDEX = 'index';

/** An index row's key starts with this: newest first, so `announcements` reads the latest few. */
export function indexTime(createdAt: Date): string {
  return String(9_000_000_000_000_000 - createdAt.getTime()).padStart(16, '0');
}
const SETTINGS = 'settings';

const iso = z.string().default('');
const MainRow = z.object({
  partitionKey: z.string().regex(/^an[0-9a-f]{10}$/),
  rowKey: z.literal(MAIN),
  version: z.number().int(),
  status: z.enum(['draft', 'scheduled', 'sending', 'done', 'cancelled']),
  title: z.string().default(''),
  text: z.string(),
  link: z.string().default(''),
  audience: z.string(),
  importance: z.enum(['normal', 'important', 'urgent']).default('normal'),
  askAck: z.boolean().default(false),
  sendAt: iso,
  authorAad: z.string(),
  authorName: z.string().default(''),
  authorRole: z.enum(['coordinator', 'rep']).default('coordinator'),
  createdAt: z.string(),
  sentAt: iso,
  completedAt: iso,
  cancelledAt: iso,
  cancelledBy: iso,
  recipients: z.number().int().default(0),
  recipientsWritten: z.boolean().default(false),
  dispatched: z.boolean().default(false),
  copyReference: iso,
  copyActivityId: iso,
  via: iso,
  deliveryKept: iso,
  etag: z.string(),
});

const count = z.number().int().min(0).catch(0);
const KeptShape = z.record(z.object({ sent: count, pending: count, failed: count, notSent: count }));

function keptOf(text: unknown): KeptCounts | undefined {
  const parsed = KeptShape.safeParse(typeof text === 'string' && text ? safeJson(text) : undefined);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Retention (platform/retention.ts) purges recipients' rows a year after they were sent to, while the
 * announcement stays for longer: what they counted is kept on the announcement's row as they go.
 */
export function foldDeliveryCounts(head: Readonly<Record<string, unknown>>, rows: readonly Readonly<Record<string, unknown>>[]): Record<string, unknown> {
  const counted = rows.map(countedRow).filter((r) => r !== undefined);
  const status = MainRow.shape.status.safeParse(head.status);
  return { deliveryKept: JSON.stringify(keepCounts(keptOf(head.deliveryKept) ?? {}, counted, status.success ? status.data : 'done')) };
}
/** The fields of a recipient's row that the report counts (and foldDeliveryCounts reads). */
export const COUNTED_FIELDS = ['schoolId', 'state'];
const RECIPIENT_STATES = new Set<string>(['pending', 'sent', 'failed', 'cancelled']);

/** What the report counts of a recipient's row (thousands for a big send: a plain check rather than a schema per row). */
function countedRow(entity: Readonly<Record<string, unknown>>): { schoolId: string; state: RecipientState } | undefined {
  if (typeof entity.state !== 'string' || !RECIPIENT_STATES.has(entity.state)) return undefined;
  return { schoolId: typeof entity.schoolId === 'string' ? entity.schoolId : '', state: entity.state as RecipientState };
}

const EndpointShape = z.object({ serviceUrl: z.string().url(), tenantId: z.string(), botId: z.string() });
const TargetShape = z.union([
  EndpointShape.extend({ kind: z.literal('conversation'), conversationId: z.string().min(1), conversationKind: z.enum(['personal', 'groupChat', 'channel']) }),
  EndpointShape.extend({ kind: z.literal('person'), aadObjectId: z.string().min(1), name: z.string() }),
]);

const RecipientEntity = z.object({
  rowKey: z.string().startsWith('r|'),
  label: z.string().default(''),
  schoolId: z.string().default(''),
  target: z.string(),
  state: z.enum(['pending', 'sent', 'failed', 'cancelled']),
  attempts: z.number().int().default(0),
  lastStatus: z.number().int().default(0),
  reason: z.string().default(''),
  activityId: z.string().default(''),
  doneAt: z.string().default(''),
  etag: z.string(),
});

const AckEntity = z.object({ rowKey: z.string().startsWith('ack|'), name: z.string().default(''), schoolId: z.string().default(''), at: z.string().default('') });

function audienceToString(a: Audience): string {
  return a.kind === 'school' ? `school:${a.schoolId}` : a.kind;
}

function audienceFromString(v: string): Audience | undefined {
  if (v === 'schools' || v === 'announcements' || v === 'reps' || v === 'everyone') return { kind: v };
  if (v.startsWith('school:') && v.length > 'school:'.length) return { kind: 'school', schoolId: v.slice('school:'.length) };
  return undefined;
}

const date = (v: string) => (v ? new Date(v) : undefined);

function toAnnouncement(row: z.infer<typeof MainRow>, logger: Logger): Announcement | undefined {
  const audience = audienceFromString(row.audience);
  if (!audience) {
    logger.warn({ table: ANNOUNCEMENTS_TABLE, partitionKey: row.partitionKey }, 'skipped an announcement with an unknown audience');
    return undefined;
  }
  let via: Endpoint | undefined;
  if (row.via) {
    const parsed = EndpointShape.safeParse(safeJson(row.via));
    via = parsed.success ? parsed.data : undefined;
  }
  return {
    id: row.partitionKey,
    version: row.version,
    status: row.status,
    title: row.title,
    text: row.text,
    link: row.link,
    audience,
    importance: row.importance,
    askAck: row.askAck,
    sendAt: date(row.sendAt),
    author: { aadObjectId: row.authorAad, name: row.authorName, role: row.authorRole },
    createdAt: new Date(row.createdAt),
    sentAt: date(row.sentAt),
    completedAt: date(row.completedAt),
    cancelledAt: date(row.cancelledAt),
    cancelledBy: row.cancelledBy || undefined,
    recipients: row.recipients,
    recipientsWritten: row.recipientsWritten,
    dispatched: row.dispatched,
    copy: row.copyReference && row.copyActivityId ? { reference: row.copyReference, activityId: row.copyActivityId } : undefined,
    via,
    kept: keptOf(row.deliveryKept),
  };
}

function toEntity(a: Announcement) {
  return {
    partitionKey: a.id,
    rowKey: MAIN,
    version: a.version,
    status: a.status,
    title: a.title,
    text: a.text,
    link: a.link,
    audience: audienceToString(a.audience),
    importance: a.importance,
    askAck: a.askAck,
    sendAt: a.sendAt?.toISOString() ?? '',
    authorAad: a.author.aadObjectId,
    authorName: a.author.name,
    authorRole: a.author.role,
    createdAt: a.createdAt.toISOString(),
    sentAt: a.sentAt?.toISOString() ?? '',
    completedAt: a.completedAt?.toISOString() ?? '',
    cancelledAt: a.cancelledAt?.toISOString() ?? '',
    cancelledBy: a.cancelledBy ?? '',
    recipients: a.recipients,
    recipientsWritten: a.recipientsWritten,
    dispatched: a.dispatched,
    copyReference: a.copy?.reference ?? '',
    copyActivityId: a.copy?.activityId ?? '',
    via: a.via ? JSON.stringify(a.via) : '',
    ...(a.kept ? { deliveryKept: JSON.stringify(a.kept) } : {}),
  };
}

function toRecipientRow(row: z.infer<typeof RecipientEntity>, logger: Logger): RecipientRow | undefined {
  const target = TargetShape.safeParse(safeJson(row.target));
  if (!target.success) {
    logger.warn({ table: ANNOUNCEMENTS_TABLE, rowKey: row.rowKey }, 'skipped a recipient whose target does not parse');
    return undefined;
  }
  return {
    key: row.rowKey,
    label: row.label,
    schoolId: row.schoolId,
    target: target.data as Target,
    state: row.state,
    attempts: row.attempts,
    lastStatus: row.lastStatus,
    reason: row.reason,
    activityId: row.activityId,
    doneAt: row.doneAt,
    etag: row.etag,
  };
}

export type Saved = { ok: true; etag: string } | { ok: false; reason: 'conflict' | 'missing' };

/**
 * A recipient's row as first written: pending, until the outbox records what happened (sent, failed
 * or cancelled; see service.ts) in the transaction that settles their message.
 */
export function recipientEntity(id: string, r: Recipient): { partitionKey: string; rowKey: string } & Record<string, string | number> {
  return {
    partitionKey: id,
    rowKey: r.key,
    label: r.label.slice(0, 200),
    schoolId: r.schoolId,
    target: JSON.stringify(r.target),
    state: 'pending' satisfies RecipientState,
    attempts: 0,
    lastStatus: 0,
    reason: '',
    activityId: '',
    doneAt: '',
  };
}

export class AnnouncementStore {
  private readonly table: TableClient;

  constructor(
    tables: Tables,
    private readonly logger: Logger,
  ) {
    this.table = tables.client(ANNOUNCEMENTS_TABLE);
  }

  // ---------------------------------------------------------------------------------------------
  // Announcements

  /** Stores a new draft and its index row (newest first). */
  async create(a: Announcement): Promise<string> {
    const created = await this.table.createEntity(toEntity(a));
    await this.table.upsertEntity({ partitionKey: INDEX, rowKey: `${indexTime(a.createdAt)}|${a.id}`, id: a.id, authorAad: a.author.aadObjectId }, 'Replace');
    return created.etag ?? '';
  }

  async get(id: string): Promise<{ announcement: Announcement; etag: string } | undefined> {
    if (!/^an[0-9a-f]{10}$/.test(id)) return undefined;
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(id, MAIN);
      const row = parseRow(MainRow, entity, this.logger, ANNOUNCEMENTS_TABLE);
      const announcement = row ? toAnnouncement(row, this.logger) : undefined;
      return announcement ? { announcement, etag: entity.etag } : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Replaces the announcement's row if nobody changed it since `etag`. */
  async save(a: Announcement, etag: string): Promise<Saved> {
    try {
      const saved = await this.table.updateEntity(toEntity(a), 'Replace', { etag });
      return { ok: true, etag: saved.etag ?? '' };
    } catch (err) {
      const status = statusOf(err);
      if (status === 412) return { ok: false, reason: 'conflict' };
      if (status === 404) return { ok: false, reason: 'missing' };
      throw err;
    }
  }

  /** Newest first, up to `limit` (drafts included; callers filter). */
  async recent(limit: number): Promise<string[]> {
    const ids: string[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${INDEX}`, select: ['id'] } })) {
      if (typeof row.id === 'string') ids.push(row.id);
      if (ids.length >= limit) break;
    }
    return ids;
  }

  // ---------------------------------------------------------------------------------------------
  // Recipients

  async recipient(id: string, key: string): Promise<RecipientRow | undefined> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(id, key);
      const row = parseRow(RecipientEntity, entity, this.logger, ANNOUNCEMENTS_TABLE);
      return row ? toRecipientRow(row, this.logger) : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async recipients(id: string): Promise<RecipientRow[]> {
    const out: RecipientRow[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${id} and RowKey ge 'r|' and RowKey lt 'r}'` } })) {
      const row = parseRow(RecipientEntity, entity, this.logger, ANNOUNCEMENTS_TABLE);
      const parsed = row ? toRecipientRow(row, this.logger) : undefined;
      if (parsed) out.push(parsed);
    }
    return out;
  }

  /** Just what the report counts (cheaper than whole rows for a big send). */
  async states(id: string): Promise<{ schoolId: string; state: RecipientState }[]> {
    const out: { schoolId: string; state: RecipientState }[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${id} and RowKey ge 'r|' and RowKey lt 'r}'`, select: COUNTED_FIELDS } })) {
      const row = countedRow(entity);
      if (row) out.push(row);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Acknowledgements

  /** Counts a person's "Got it" once: false when they had already said so. */
  async addAck(id: string, ack: Ack): Promise<boolean> {
    try {
      await this.table.createEntity({ partitionKey: id, rowKey: `ack|${ack.aadObjectId.toLowerCase()}`, name: ack.name.slice(0, 200), schoolId: ack.schoolId, at: ack.at });
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw err;
    }
  }

  async acks(id: string): Promise<Ack[]> {
    const out: Ack[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${id} and RowKey ge 'ack|' and RowKey lt 'ack}'` } })) {
      const row = parseRow(AckEntity, entity, this.logger, ANNOUNCEMENTS_TABLE);
      if (row) out.push({ aadObjectId: row.rowKey.slice('ack|'.length), name: row.name, schoolId: row.schoolId, at: row.at });
    }
    return out;
  }

  /** For reports: every "Got it" pressed in [start, end), across announcements (the acknowledgement rows only). */
  async acksBetween(start: Date, end: Date): Promise<(Ack & { announcementId: string })[]> {
    const out: (Ack & { announcementId: string })[] = [];
    const filter = odata`RowKey ge 'ack|' and RowKey lt 'ack}' and at ge ${start.toISOString()} and at lt ${end.toISOString()}`;
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const row = parseRow(AckEntity, entity, this.logger, ANNOUNCEMENTS_TABLE);
      if (row) out.push({ announcementId: String(entity.partitionKey), aadObjectId: row.rowKey.slice('ack|'.length), name: row.name, schoolId: row.schoolId, at: row.at });
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // The partnership's setting

  async repsMayAnnounce(): Promise<boolean> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(SETTINGS, 'partnership');
      return entity.repsMayAnnounce === true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async setRepsMayAnnounce(allowed: boolean, by: string): Promise<void> {
    await this.table.upsertEntity({ partitionKey: SETTINGS, rowKey: 'partnership', repsMayAnnounce: allowed, changedBy: by }, 'Merge');
  }

  // ---------------------------------------------------------------------------------------------
  // Workers sharing the send rate
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type { Status };
