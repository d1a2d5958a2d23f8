import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import type { Logger } from '../platform/logging';
import { parseRow, statusOf, type Tables } from '../platform/storage/tables';
import { PHASES, type Answer, type Match, type Offer, type PersonRef, type SwapRecord } from './model';

/**
 * Placement swaps in Table Storage. Offers, matches and the swap history share one partition
 * (PartitionKey 'swaps'; RowKeys 'offer|<id>', 'match|<id>', 'history|<matchId>'), so every decisive
 * change — proposing two offers to each other, agreeing a swap, releasing offers after a decline,
 * cancelling — is one entity-group transaction in which each offer and match row is written under the
 * ETag it was read with. Two writers that read the same state cannot both succeed: the second gets
 * 412 (or 409 for a match row that already exists) and starts again from what is stored.
 *
 * A match's id is derived from its pair of offers, so creating it fails if the pair was ever proposed.
 * People's Teams ids (needed to open a personal chat) are kept under PartitionKey 'person' when they act.
 * What a change still has to tell people is in the same partition (outbox rows 'out|…', platform/outbox):
 * every read here names a RowKey range, so they are never read as offers or matches.
 */

export const SWAPS_TABLE = 'Swaps';
/** The partition every offer, match and history row is in: a change is one transaction, with its effects (outbox rows 'out|…'). */
export const SWAPS_PARTITION = 'swaps';
const PK = SWAPS_PARTITION;
const PEOPLE = 'person';
const OFFER = 'offer|';
const MATCH = 'match|';
const HISTORY = 'history|';

const iso = z.string().datetime();
const phase = z.enum(PHASES);

const OfferRow = z.object({
  rowKey: z.string().startsWith(OFFER),
  schoolId: z.string().min(1),
  schoolName: z.string(),
  sendPhase: phase,
  sendSubject: z.string().min(1),
  sendCount: z.number().int().min(1),
  trainee: z.string().default(''),
  hostPhase: phase,
  hostSubjects: z.string(),
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  confirmBy: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  notes: z.string().default(''),
  status: z.enum(['open', 'proposed', 'agreed', 'withdrawn', 'expired', 'cancelled']),
  matchId: z.string().default(''),
  createdAt: iso,
  updatedAt: iso,
  byAad: z.string(),
  byTeamsId: z.string().default(''),
  byName: z.string().default(''),
  via: z.string().default(''),
  etag: z.string(),
});

const MatchRow = z.object({
  rowKey: z.string().startsWith(MATCH),
  offerA: z.string(),
  offerB: z.string(),
  schoolA: z.string(),
  schoolB: z.string(),
  schoolNameA: z.string(),
  schoolNameB: z.string(),
  overlapFrom: z.string(),
  overlapTo: z.string(),
  overlapDays: z.number().int(),
  status: z.enum(['proposed', 'agreed', 'declined', 'lapsed', 'cancelled']),
  answerA: z.string().default(''),
  answerB: z.string().default(''),
  proposedAt: iso,
  answerBy: iso,
  decidedAt: z.string().default(''),
  reason: z.string().default(''),
  reasonBy: z.string().default(''),
  reasonSchoolId: z.string().default(''),
  waitingCards: z.string().default('[]'),
  etag: z.string(),
});

const WaitingCardsJson = z.array(z.object({ schoolId: z.string(), reference: z.string(), activityId: z.string() }));

const AnswerJson = z.object({ by: z.string(), aadObjectId: z.string(), at: iso });

const HistoryRow = z.object({ rowKey: z.string().startsWith(HISTORY), schoolA: z.string(), schoolB: z.string(), agreedAt: iso, cancelled: z.boolean().default(false) });
const PersonRow = z.object({ rowKey: z.string(), teamsId: z.string().default(''), name: z.string().default('') });

export interface StoredOffer {
  readonly offer: Offer;
  readonly etag: string;
  /** The conversation reference (JSON) of where the offer was made, to open personal chats from timers. */
  readonly via: string;
}

export interface StoredMatch {
  readonly match: Match;
  readonly etag: string;
}

/** The changes of one decisive step, written as one transaction (with the change's effects: service.ts). */
export class SwapChange {
  readonly actions: TransactionAction[] = [];

  /** A new offer, with the reference of where it was made (fails with 409 when it exists). */
  createOffer(offer: Offer, via: string): this {
    this.actions.push(['create', { ...offerEntity(offer), via }]);
    return this;
  }

  updateOffer(offer: Offer, etag: string): this {
    this.actions.push(['update', offerEntity(offer), 'Merge', { etag }]);
    return this;
  }

  createMatch(match: Match): this {
    this.actions.push(['create', matchEntity(match)]);
    return this;
  }

  updateMatch(match: Match, etag: string): this {
    this.actions.push(['update', matchEntity(match), 'Replace', { etag }]);
    return this;
  }

  addHistory(record: SwapRecord): this {
    this.actions.push(['create', historyEntity(record)]);
    return this;
  }

  cancelHistory(matchId: string): this {
    this.actions.push(['upsert', { partitionKey: PK, rowKey: `${HISTORY}${matchId}`, cancelled: true }, 'Merge']);
    return this;
  }
}

/** Someone else changed a row first (412), or a row to create exists (409): read again and decide again. */
export class SwapConflict extends Error {
  constructor(readonly status: number) {
    super(`swap change conflicted (${status})`);
  }
}

export class SwapStore {
  private readonly table: TableClient;

  constructor(
    tables: Tables,
    private readonly logger: Logger,
  ) {
    this.table = tables.client(SWAPS_TABLE);
  }

  async offer(id: string): Promise<StoredOffer | undefined> {
    const row = await this.read(`${OFFER}${id}`);
    if (!row) return undefined;
    const parsed = parseRow(OfferRow, row, this.logger, SWAPS_TABLE);
    return parsed ? toStoredOffer(parsed) : undefined;
  }

  async match(id: string): Promise<StoredMatch | undefined> {
    const row = await this.read(`${MATCH}${id}`);
    if (!row) return undefined;
    const parsed = parseRow(MatchRow, row, this.logger, SWAPS_TABLE);
    return parsed ? { match: toMatch(parsed), etag: parsed.etag } : undefined;
  }

  /** Offers that are open or in a proposal: the ones matching looks at. */
  async liveOffers(): Promise<StoredOffer[]> {
    return this.offers(odata`PartitionKey eq ${PK} and RowKey ge ${OFFER} and RowKey lt 'offer}' and (status eq 'open' or status eq 'proposed')`);
  }

  /** Offers that are open, proposed or agreed: what the board shows. */
  async currentOffers(): Promise<StoredOffer[]> {
    return this.offers(odata`PartitionKey eq ${PK} and RowKey ge ${OFFER} and RowKey lt 'offer}' and (status eq 'open' or status eq 'proposed' or status eq 'agreed')`);
  }

  /** Matches waiting for answers or agreed. */
  async currentMatches(): Promise<StoredMatch[]> {
    return this.matches(odata`PartitionKey eq ${PK} and RowKey ge ${MATCH} and RowKey lt 'match}' and (status eq 'proposed' or status eq 'agreed')`);
  }

  /** Every match an offer has been in, whatever became of it. */
  async matchesOf(offerId: string): Promise<StoredMatch[]> {
    return this.matches(odata`PartitionKey eq ${PK} and RowKey ge ${MATCH} and RowKey lt 'match}' and (offerA eq ${offerId} or offerB eq ${offerId})`);
  }

  /** Every agreed swap so far (cancelled ones marked), for ranking and reports. */
  async history(): Promise<SwapRecord[]> {
    const out: SwapRecord[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${PK} and RowKey ge ${HISTORY} and RowKey lt 'history}'` } })) {
      const parsed = parseRow(HistoryRow, row, this.logger, SWAPS_TABLE);
      if (parsed) out.push({ schoolIds: [parsed.schoolA, parsed.schoolB], agreedAt: new Date(parsed.agreedAt), matchId: parsed.rowKey.slice(HISTORY.length), cancelled: parsed.cancelled });
    }
    return out;
  }

  /**
   * For reports: agreed swaps (not cancelled) whose weeks start between two London dates (inclusive),
   * with what each side's offer sends: the agreed match rows, then a point read of each offer.
   */
  async agreedStartingBetween(from: string, to: string): Promise<{ matchId: string; startsOn: string; sides: { schoolId: string; sends: number }[] }[]> {
    const agreed = await this.matches(odata`PartitionKey eq ${PK} and RowKey ge ${MATCH} and RowKey lt 'match}' and status eq 'agreed' and overlapFrom ge ${from} and overlapFrom le ${to}`);
    return Promise.all(
      agreed.map(async ({ match }) => {
        const offers = await Promise.all(match.offerIds.map((id) => this.offer(id)));
        const sides = match.schoolIds.map((schoolId, i) => ({ schoolId, sends: offers[i]?.offer.sends.count ?? 0 }));
        return { matchId: match.id, startsOn: match.overlap.from, sides };
      }),
    );
  }

  /**
   * Writes rows with no effects (tests set up states with it); a change the people should hear of goes
   * through the service, which commits its effects with it. Throws SwapConflict when another writer got there first.
   */
  async commit(change: SwapChange): Promise<void> {
    if (change.actions.length === 0) return;
    try {
      await this.table.submitTransaction(change.actions);
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 409 || status === 404) throw new SwapConflict(status);
      throw err;
    }
  }

  /**
   * Keeps a person's Teams id so they can be messaged personally later. Written every time (one small
   * upsert after a swap action that stored something, a few a week per rep), rather than remembered in
   * the process: an instance that remembered having written it would not write it again after an
   * erasure deleted it (on any instance), and would go on holding an erased person's identity.
   */
  async rememberPerson(person: PersonRef): Promise<void> {
    if (!person.teamsId) return;
    await this.table.upsertEntity({ partitionKey: PEOPLE, rowKey: person.aadObjectId.toLowerCase(), teamsId: person.teamsId, name: person.name }, 'Replace');
  }

  /** The Teams ids known for these people (those never seen are missing from the map). */
  async people(aadObjectIds: readonly string[]): Promise<Map<string, PersonRef>> {
    const out = new Map<string, PersonRef>();
    await Promise.all(
      [...new Set(aadObjectIds.map((a) => a.toLowerCase()))].map(async (aad) => {
        try {
          const row = await this.table.getEntity<Record<string, unknown>>(PEOPLE, aad);
          const parsed = parseRow(PersonRow, row, this.logger, SWAPS_TABLE);
          if (parsed) out.set(aad, { aadObjectId: aad, teamsId: parsed.teamsId, name: parsed.name });
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      }),
    );
    return out;
  }

  private async offers(filter: string): Promise<StoredOffer[]> {
    const out: StoredOffer[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const parsed = parseRow(OfferRow, row, this.logger, SWAPS_TABLE);
      if (parsed) out.push(toStoredOffer(parsed));
    }
    return out;
  }

  private async matches(filter: string): Promise<StoredMatch[]> {
    const out: StoredMatch[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const parsed = parseRow(MatchRow, row, this.logger, SWAPS_TABLE);
      if (parsed) out.push({ match: toMatch(parsed), etag: parsed.etag });
    }
    return out;
  }

  private async read(rowKey: string): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.table.getEntity<Record<string, unknown>>(PK, rowKey);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }
}

function offerEntity(o: Offer) {
  return {
    partitionKey: PK,
    rowKey: `${OFFER}${o.id}`,
    schoolId: o.schoolId,
    schoolName: o.schoolName,
    sendPhase: o.sends.phase,
    sendSubject: o.sends.subject,
    sendCount: o.sends.count,
    trainee: o.sends.trainee,
    hostPhase: o.hosts.phase,
    hostSubjects: JSON.stringify(o.hosts.subjects),
    from: o.from,
    to: o.to,
    confirmBy: o.confirmBy,
    notes: o.notes,
    status: o.status,
    matchId: o.matchId,
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
    byAad: o.by.aadObjectId,
    byTeamsId: o.by.teamsId,
    byName: o.by.name,
  };
}

function toStoredOffer(r: z.infer<typeof OfferRow>): StoredOffer {
  let subjects: string[] = [];
  try {
    const parsed: unknown = JSON.parse(r.hostSubjects);
    if (Array.isArray(parsed)) subjects = parsed.filter((s): s is string => typeof s === 'string');
  } catch {
    subjects = [];
  }
  return {
    offer: {
      id: r.rowKey.slice(OFFER.length),
      schoolId: r.schoolId,
      schoolName: r.schoolName,
      sends: { phase: r.sendPhase, subject: r.sendSubject, count: r.sendCount, trainee: r.trainee },
      hosts: { phase: r.hostPhase, subjects },
      from: r.from,
      to: r.to,
      confirmBy: r.confirmBy,
      notes: r.notes,
      status: r.status,
      matchId: r.matchId,
      createdAt: new Date(r.createdAt),
      updatedAt: new Date(r.updatedAt),
      by: { aadObjectId: r.byAad, teamsId: r.byTeamsId, name: r.byName },
    },
    etag: r.etag,
    via: r.via,
  };
}

function answerJson(a: Answer | undefined): string {
  return a ? JSON.stringify({ by: a.by, aadObjectId: a.aadObjectId, at: a.at.toISOString() }) : '';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseAnswer(text: string): Answer | undefined {
  if (!text) return undefined;
  try {
    const parsed = AnswerJson.safeParse(JSON.parse(text));
    return parsed.success ? { by: parsed.data.by, aadObjectId: parsed.data.aadObjectId, at: new Date(parsed.data.at) } : undefined;
  } catch {
    return undefined;
  }
}

function matchEntity(m: Match) {
  return {
    partitionKey: PK,
    rowKey: `${MATCH}${m.id}`,
    offerA: m.offerIds[0],
    offerB: m.offerIds[1],
    schoolA: m.schoolIds[0],
    schoolB: m.schoolIds[1],
    schoolNameA: m.schoolNames[0],
    schoolNameB: m.schoolNames[1],
    overlapFrom: m.overlap.from,
    overlapTo: m.overlap.to,
    overlapDays: m.overlap.schoolDays,
    status: m.status,
    answerA: answerJson(m.answers[0]),
    answerB: answerJson(m.answers[1]),
    proposedAt: m.proposedAt.toISOString(),
    answerBy: m.answerBy.toISOString(),
    decidedAt: m.decidedAt?.toISOString() ?? '',
    reason: m.reason,
    reasonBy: m.reasonBy,
    reasonSchoolId: m.reasonSchoolId,
    waitingCards: JSON.stringify(m.waitingCards ?? []),
  };
}

function toMatch(r: z.infer<typeof MatchRow>): Match {
  const match: Match = {
    id: r.rowKey.slice(MATCH.length),
    offerIds: [r.offerA, r.offerB],
    schoolIds: [r.schoolA, r.schoolB],
    schoolNames: [r.schoolNameA, r.schoolNameB],
    overlap: { from: r.overlapFrom, to: r.overlapTo, schoolDays: r.overlapDays },
    status: r.status,
    answers: [parseAnswer(r.answerA), parseAnswer(r.answerB)],
    proposedAt: new Date(r.proposedAt),
    answerBy: new Date(r.answerBy),
    reason: r.reason,
    reasonBy: r.reasonBy,
    reasonSchoolId: r.reasonSchoolId,
  };
  if (r.decidedAt) match.decidedAt = new Date(r.decidedAt);
  const waiting = WaitingCardsJson.safeParse(safeJson(r.waitingCards));
  if (waiting.success && waiting.data.length > 0) match.waitingCards = waiting.data;
  return match;
}

function historyEntity(r: SwapRecord) {
  return { partitionKey: PK, rowKey: `${HISTORY}${r.matchId}`, schoolA: r.schoolIds[0], schoolB: r.schoolIds[1], agreedAt: r.agreedAt.toISOString(), cancelled: r.cancelled };
}
