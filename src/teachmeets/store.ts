import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { CardPost } from '../platform/conversations/cardPost';
import type { Logger } from '../platform/logging';
import { owedIn } from '../platform/outbox/outbox';
import { encodeKey, parseRow, statusOf, type Tables } from '../platform/storage/tables';
import type { RowValue, RowWrite } from '../platform/storage/transaction';
import type { Aggregate, SignUp, SlotLength, TeachMeet } from './model';

/**
 * TeachMeets in Table Storage. An event and its sign-ups share one partition (PartitionKey = event id):
 * the event row ('event'), one row per person ('signup|<aad>') and one per posted copy of the shared
 * card ('post|<activity>'). Every change is one entity-group transaction that replaces the event row
 * under its ETag, so no two writers can both succeed from the same state.
 */

export const TEACHMEETS_TABLE = 'TeachMeets';
const EVENT = 'event';
const SIGNUP = 'signup|';
/** The RowKey prefix of a posted copy of the card. */
export const POST = 'post|';

const iso = z.string().datetime();
const EventRow = z.object({
  partitionKey: z.string(),
  title: z.string(),
  theme: z.string().default(''),
  hostKind: z.enum(['school', 'online']),
  hostSchoolId: z.string().default(''),
  hostSchoolName: z.string().default(''),
  startsAt: iso,
  endsAt: iso,
  venue: z.string().default(''),
  link: z.string().default(''),
  places: z.number().int().min(0),
  slots2: z.number().int().min(0),
  slots5: z.number().int().min(0),
  slots7: z.number().int().min(0),
  deadline: iso,
  status: z.enum(['open', 'cancelled']),
  organiserAad: z.string(),
  organiserName: z.string(),
  organiserSchoolId: z.string().default(''),
  organiserTeamsId: z.string().default(''),
  createdAt: iso,
  version: z.number().int(),
  waitNext: z.number().int(),
  runningOrder: z.string().default('[]'),
  addedLate: z.string().default('[]'),
  cancelReason: z.string().default(''),
  attending: z.number().int().default(0),
  waiting: z.number().int().default(0),
  presenting: z.number().int().default(0),
  queued: z.number().int().default(0),
});

const SignUpRow = z.object({
  rowKey: z.string().startsWith(SIGNUP),
  teamsId: z.string().default(''),
  name: z.string(),
  schoolId: z.string().default(''),
  role: z.enum(['attendee', 'presenter']),
  slot: z.number().int().default(0),
  talkTitle: z.string().default(''),
  talkLine: z.string().default(''),
  status: z.enum(['confirmed', 'waiting', 'offered', 'cancelled']),
  waitNumber: z.number().int().default(-1),
  offerExpiresAt: z.string().default(''),
  createdAt: iso,
  updatedAt: iso,
});

const PostRow = z.object({
  rowKey: z.string().startsWith(POST),
  conversationId: z.string(),
  activityId: z.string(),
  reference: z.string(),
});

/** A copy of the shared card posted in a conversation, kept so it can be updated in place. */
export type Post = CardPost;

export interface Loaded {
  readonly agg: Aggregate;
  readonly etag: string;
  readonly posts: Post[];
  /**
   * How many more changes the bot instance that wrote this version still had waiting for the event
   * when it wrote it: a hint that it is about to commit again (another instance does better to wait
   * for it than to commit in between). Not part of the event.
   */
  readonly queued?: number;
}

export interface EventSummary {
  readonly event: TeachMeet;
  readonly attending: number;
  readonly waiting: number;
  readonly presenting: number;
}

export class TeachMeetStore {
  private readonly table: TableClient;

  constructor(
    tables: Tables,
    private readonly logger: Logger,
  ) {
    this.table = tables.client(TEACHMEETS_TABLE);
  }

  /** The TeachMeets a person has a sign-up row in (any status). */
  async eventsSignedUp(aadObjectId: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`RowKey eq ${`${SIGNUP}${aadObjectId.toLowerCase()}`}`, select: ['PartitionKey'] } })) {
      ids.push(String(row.partitionKey));
    }
    return ids;
  }

  /** Stores a new TeachMeet; returns it as a load would (no sign-ups, no posts yet) with its row's ETag. */
  async create(event: TeachMeet): Promise<Loaded> {
    const entity = eventEntity(event, { attending: 0, waiting: 0, presenting: 0 });
    const created = await this.table.createEntity(entity);
    return { agg: { event: toEvent(EventRow.parse(entity)), signUps: new Map() }, etag: created.etag ?? '', posts: [], queued: 0 };
  }

  /** The event with every sign-up and post: one partition query. */
  async load(eventId: string): Promise<Loaded | undefined> {
    let event: TeachMeet | undefined;
    let etag = '';
    let queued = 0;
    const signUps = new Map<string, SignUp>();
    const posts: Post[] = [];
    // The partition without the outbox's rows (what a change still has to tell people).
    const filter = odata`PartitionKey eq ${eventId} and (RowKey lt ${'out|'} or RowKey ge ${'out}'})`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      if (row.rowKey === EVENT) {
        const parsed = parseRow(EventRow, row, this.logger, TEACHMEETS_TABLE);
        if (!parsed) return undefined;
        event = toEvent(parsed);
        etag = row.etag;
        queued = parsed.queued;
      } else if (row.rowKey?.startsWith(SIGNUP)) {
        const parsed = parseRow(SignUpRow, row, this.logger, TEACHMEETS_TABLE);
        if (parsed) {
          const s = toSignUp(parsed);
          signUps.set(s.aadObjectId, s);
        }
      } else if (row.rowKey?.startsWith(POST)) {
        const parsed = parseRow(PostRow, row, this.logger, TEACHMEETS_TABLE);
        if (parsed) posts.push({ conversationId: parsed.conversationId, activityId: parsed.activityId, reference: parsed.reference });
      }
    }
    return event ? { agg: { event, signUps }, etag, posts, queued } : undefined;
  }

  /**
   * The rows of a change (for one transaction with its effects): the event row under `etag` (first)
   * and the changed sign-ups. `queued`: how many more changes the writer still has waiting for the
   * event (see Loaded.queued).
   */
  commitRows(agg: Aggregate, etag: string, changed: Iterable<string>, tally: { attending: number; waiting: number; presenting: number }, queued = 0): RowWrite[] {
    const rows: RowWrite[] = [{ ...asRow(eventEntity(agg.event, tally, queued)), ifMatch: etag }];
    for (const id of changed) {
      const s = agg.signUps.get(id);
      if (s) rows.push(asRow(signUpEntity(agg.event.id, s)));
    }
    return rows;
  }

  /** What the event's changes still owe people (outbox rows not yet delivered). */
  owed(eventId: string): Promise<number> {
    return owedIn(this.table, eventId);
  }

  async addPost(eventId: string, post: Post): Promise<void> {
    await this.table.upsertEntity({ partitionKey: eventId, rowKey: `${POST}${encodeKey(post.activityId)}`, conversationId: post.conversationId, activityId: post.activityId, reference: post.reference }, 'Replace');
  }

  /** Every event (the event rows only), newest first. */
  async events(): Promise<EventSummary[]> {
    const out: EventSummary[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`RowKey eq ${EVENT}` } })) {
      const parsed = parseRow(EventRow, row, this.logger, TEACHMEETS_TABLE);
      if (parsed) out.push({ event: toEvent(parsed), attending: parsed.attending, waiting: parsed.waiting, presenting: parsed.presenting });
    }
    return out.sort((a, b) => b.event.startsAt.getTime() - a.event.startsAt.getTime());
  }

  /**
   * For reports: events starting in [start, end) with their confirmed places (school and role only):
   * the event rows in that time, then one partition query per event for its confirmed sign-ups.
   */
  async placesBetween(start: Date, end: Date): Promise<{ eventId: string; startsAt: Date; cancelled: boolean; places: { schoolId: string; role: 'attendee' | 'presenter' }[] }[]> {
    const events: { eventId: string; startsAt: Date; cancelled: boolean }[] = [];
    const filter = odata`RowKey eq ${EVENT} and startsAt ge ${start.toISOString()} and startsAt lt ${end.toISOString()}`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['PartitionKey', 'startsAt', 'status'] } })) {
      if (typeof row.partitionKey === 'string' && typeof row.startsAt === 'string') events.push({ eventId: row.partitionKey, startsAt: new Date(row.startsAt), cancelled: row.status === 'cancelled' });
    }
    return Promise.all(
      events.map(async (e) => {
        const places: { schoolId: string; role: 'attendee' | 'presenter' }[] = [];
        if (!e.cancelled) {
          const signUps = odata`PartitionKey eq ${e.eventId} and RowKey ge ${SIGNUP} and RowKey lt ${'signup}'} and status eq 'confirmed'`;
          for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: signUps, select: ['schoolId', 'role'] } })) {
            if (row.role === 'attendee' || row.role === 'presenter') places.push({ schoolId: typeof row.schoolId === 'string' ? row.schoolId : '', role: row.role });
          }
        }
        return { ...e, places };
      }),
    );
  }

  /** One person's sign-ups across every event (their CPD record). */
  async signUpsOf(aadObjectId: string): Promise<{ eventId: string; signUp: SignUp }[]> {
    const out: { eventId: string; signUp: SignUp }[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`RowKey eq ${SIGNUP + aadObjectId}` } })) {
      const parsed = parseRow(SignUpRow, row, this.logger, TEACHMEETS_TABLE);
      if (parsed) out.push({ eventId: String(row.partitionKey), signUp: toSignUp(parsed) });
    }
    return out;
  }

  /** The event row's version as stored now (one point read), or undefined if it is gone. */
  async version(eventId: string): Promise<number | undefined> {
    try {
      const row = await this.table.getEntity<{ version?: unknown }>(eventId, EVENT, { queryOptions: { select: ['version'] } });
      return typeof row.version === 'number' ? row.version : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async exists(eventId: string): Promise<boolean> {
    try {
      await this.table.getEntity(eventId, EVENT, { queryOptions: { select: ['PartitionKey'] } });
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }
}

function eventEntity(e: TeachMeet, tally: { attending: number; waiting: number; presenting: number }, queued = 0) {
  return {
    partitionKey: e.id,
    rowKey: EVENT,
    title: e.title,
    theme: e.theme,
    hostKind: e.host.kind,
    hostSchoolId: e.host.kind === 'school' ? e.host.schoolId : '',
    hostSchoolName: e.host.kind === 'school' ? e.host.schoolName : '',
    startsAt: e.startsAt.toISOString(),
    endsAt: e.endsAt.toISOString(),
    venue: e.venue,
    link: e.link,
    places: e.places,
    slots2: e.slots[2],
    slots5: e.slots[5],
    slots7: e.slots[7],
    deadline: e.deadline.toISOString(),
    status: e.status,
    organiserAad: e.organiser.aadObjectId,
    organiserName: e.organiser.name,
    organiserSchoolId: e.organiser.schoolId ?? '',
    organiserTeamsId: e.organiser.teamsId ?? '',
    createdAt: e.createdAt.toISOString(),
    version: e.version,
    waitNext: e.waitNext,
    runningOrder: JSON.stringify(e.runningOrder),
    addedLate: JSON.stringify(e.addedLate),
    cancelReason: e.cancelReason,
    ...tally,
    queued,
  };
}

/** A JSON list of ids from a column; anything else reads as empty. */
function idList(column: string): string[] {
  try {
    const parsed: unknown = JSON.parse(column);
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function toEvent(r: z.infer<typeof EventRow>): TeachMeet {
  const runningOrder = idList(r.runningOrder);
  return {
    id: r.partitionKey,
    title: r.title,
    theme: r.theme,
    host: r.hostKind === 'online' ? { kind: 'online' } : { kind: 'school', schoolId: r.hostSchoolId, schoolName: r.hostSchoolName },
    startsAt: new Date(r.startsAt),
    endsAt: new Date(r.endsAt),
    venue: r.venue,
    link: r.link,
    places: r.places,
    slots: { 2: r.slots2, 5: r.slots5, 7: r.slots7 },
    deadline: new Date(r.deadline),
    status: r.status,
    organiser: { aadObjectId: r.organiserAad, name: r.organiserName, schoolId: r.organiserSchoolId || undefined, teamsId: r.organiserTeamsId || undefined },
    createdAt: new Date(r.createdAt),
    version: r.version,
    waitNext: r.waitNext,
    runningOrder,
    addedLate: idList(r.addedLate),
    cancelReason: r.cancelReason,
  };
}

function asRow(entity: { partitionKey: string; rowKey: string } & Record<string, RowValue>): RowWrite {
  return { partitionKey: entity.partitionKey, rowKey: entity.rowKey, values: entity };
}

function signUpEntity(eventId: string, s: SignUp) {
  return {
    partitionKey: eventId,
    rowKey: `${SIGNUP}${s.aadObjectId}`,
    teamsId: s.teamsId,
    name: s.name,
    schoolId: s.schoolId,
    role: s.role,
    slot: s.talk?.slot ?? 0,
    talkTitle: s.talk?.title ?? '',
    talkLine: s.talk?.line ?? '',
    status: s.status,
    waitNumber: s.waitNumber ?? -1,
    offerExpiresAt: s.offerExpiresAt?.toISOString() ?? '',
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

function toSignUp(r: z.infer<typeof SignUpRow>): SignUp {
  const slot = r.slot === 2 || r.slot === 5 || r.slot === 7 ? (r.slot as SlotLength) : undefined;
  return {
    aadObjectId: r.rowKey.slice(SIGNUP.length),
    teamsId: r.teamsId,
    name: r.name,
    schoolId: r.schoolId,
    role: r.role,
    talk: r.role === 'presenter' && slot ? { slot, title: r.talkTitle, line: r.talkLine } : undefined,
    status: r.status,
    waitNumber: r.waitNumber >= 0 ? r.waitNumber : undefined,
    offerExpiresAt: r.offerExpiresAt ? new Date(r.offerExpiresAt) : undefined,
    createdAt: new Date(r.createdAt),
    updatedAt: new Date(r.updatedAt),
  };
}

/** A deep copy, so a batch can be applied and thrown away if its commit fails. */
export function cloneAggregate(agg: Aggregate): Aggregate {
  const event: TeachMeet = { ...agg.event, host: { ...agg.event.host }, slots: { ...agg.event.slots }, runningOrder: [...agg.event.runningOrder], addedLate: [...agg.event.addedLate] };
  const signUps = new Map<string, SignUp>();
  for (const [id, s] of agg.signUps) signUps.set(id, { ...s });
  return { event, signUps };
}
