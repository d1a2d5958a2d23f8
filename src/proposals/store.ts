import { changeRow } from '../platform/outbox/kernel';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import type { CardPost } from '../platform/conversations/cardPost';
import type { Logger } from '../platform/logging';
import { encodeKey, parseRow, statusOf, type Tables } from '../platform/storage/tables';
import { DEFAULT_FUNDER_OUTCOMES, DEFAULT_MUTUAL_NEEDS, type Aggregate, type AuditEntry, type Content, type Decision, type Proposal, type Tag, type TagKind } from './model';
import { approvedCount, statusOf as proposalStatus, tagsFromLabels, waitingOn, type Summary } from './rules';

/**
 * Proposals in Table Storage. A proposal and everything about it share one partition (PartitionKey =
 * proposal id): the proposal row ('proposal': current content, version, rev, status for the list), one
 * decision row per partner school ('school|<id>'), a snapshot of every version ('version|000001'), the
 * audit trail ('audit|<rev>'), the posted copies of its card ('post|<activity>') and the turn to tell
 * the proposer ('notice|proposer'). Every change is
 * one entity-group transaction that replaces the proposal row under its ETag, writes the decision rows
 * and appends the audit entry: two reps deciding at the same moment cannot both commit from the same
 * state, so the second re-reads and applies its decision on top, and neither is lost.
 *
 * The partnership's lists of mutual needs and funder outcomes are rows of the 'settings' partition.
 */

export const PROPOSALS_TABLE = 'Proposals';
const HEAD = 'proposal';
const SCHOOL = 'school|';
const VERSION = 'version|';
const AUDIT = 'audit|';
/** The RowKey prefix of a posted copy of the card. */
export const POST = 'post|';
/** How the new card's post to the reps' channel went: the outbox records its outcome here (see ProposalService.create). */
export const POSTING = 'posting|reps';
/** Whose turn it is to tell the proposer something: one notice at a time, so they arrive in order. */
const SETTINGS = 'settings';
const pad = (n: number) => String(n).padStart(6, '0');

const iso = z.string().datetime();
const ContentSchema = z.object({
  title: z.string(),
  summary: z.string(),
  partnerSchoolIds: z.array(z.string()),
  contributions: z.string(),
  collaboration: z.string().default(''),
  pupils: z.number().int().min(0),
  staff: z.number().int().min(0),
  legacy: z.string().default(''),
  outcome: z.string(),
  mutualNeeds: z.array(z.string()),
  funderOutcomes: z.array(z.string()).default([]),
  startDate: z.string(),
  endDate: z.string(),
  budgetPence: z.number().int().min(0).nullable().optional(),
  decisionBy: z.string(),
});
const StatusSchema = z.enum(['pending', 'changesRequested', 'declined', 'awaitingSignOff', 'approved', 'withdrawn']);
const SchoolStatusSchema = z.enum(['pending', 'approved', 'changesRequested', 'declined']);

const HeadRow = z.object({
  partitionKey: z.string(),
  leadSchoolId: z.string(),
  proposerAad: z.string(),
  proposerTeamsId: z.string().default(''),
  proposerName: z.string(),
  content: z.string(),
  version: z.number().int().min(1),
  rev: z.number().int().min(1),
  lifecycle: z.enum(['open', 'approved', 'withdrawn']),
  status: StatusSchema,
  waitingOn: z.string().default('[]'),
  approved: z.number().int().default(0),
  createdAt: iso,
  updatedAt: iso,
  closedByAad: z.string().default(''),
  closedByName: z.string().default(''),
  closedAt: z.string().default(''),
  closedComment: z.string().default(''),
});

const DecisionRow = z.object({
  rowKey: z.string().startsWith(SCHOOL),
  status: SchoolStatusSchema,
  version: z.number().int(),
  byAad: z.string().default(''),
  byName: z.string().default(''),
  at: z.string().default(''),
  comment: z.string().default(''),
});

const AuditRow = z.object({
  rowKey: z.string().startsWith(AUDIT),
  kind: z.enum(['submitted', 'edited', 'approved', 'changesRequested', 'declined', 'signedOff', 'withdrawn']),
  version: z.number().int(),
  byAad: z.string(),
  byName: z.string(),
  at: iso,
  schoolId: z.string().default(''),
  comment: z.string().default(''),
});

const VersionRow = z.object({ rowKey: z.string().startsWith(VERSION), content: z.string(), byAad: z.string(), byName: z.string(), at: iso });
const PostingRow = z.object({ state: z.string(), reason: z.string().default(''), lastStatus: z.number().default(0), shareTo: z.string().default(''), sharedHere: z.boolean().default(false) });
export type Posting = z.infer<typeof PostingRow> & { readonly etag: string };
const PostRow = z.object({ rowKey: z.string().startsWith(POST), conversationId: z.string(), activityId: z.string(), reference: z.string(), version: z.number().int().default(0) });
const TagsRow = z.object({ tags: z.string() });
const TagList = z.array(z.object({ id: z.string().min(1).max(60).regex(/^[^,]+$/), label: z.string().min(1).max(100) }));

/** A copy of the proposal card posted in a conversation, kept so it can be updated in place. */
/** A posted copy of the card, with the version it was posted for (0 when not recorded: kept up to date with the latest). */
export interface Post extends CardPost {
  readonly version?: number;
}

export interface Loaded {
  readonly agg: Aggregate;
  readonly etag: string;
  readonly posts: Post[];
}

export interface VersionSnapshot {
  readonly version: number;
  readonly content: Content;
  readonly by: { aadObjectId: string; name: string };
  readonly at: Date;
}

export interface History {
  readonly entries: AuditEntry[];
  readonly versions: VersionSnapshot[];
}

export class ProposalStore {
  private readonly table: TableClient;

  constructor(
    tables: Tables,
    private readonly logger: Logger,
  ) {
    this.table = tables.client(PROPOSALS_TABLE);
  }

  /**
   * A new proposal's rows (for one transaction): the proposal, its decision rows, its first version and
   * the audit entry; with `shareTo` (the card goes to the reps' channel elsewhere), the row its post's
   * outcome is recorded on, holding where to share the card instead if Teams refuses it there.
   */
  createActions(agg: Aggregate, audit: AuditEntry, shareTo?: string): TransactionAction[] {
    const p = agg.proposal;
    const actions: TransactionAction[] = [['create', headEntity(agg)]];
    for (const d of agg.decisions.values()) actions.push(['create', decisionEntity(p.id, d)]);
    actions.push(['create', versionEntity(p, audit)]);
    actions.push(['create', auditEntity(p.id, p.rev, audit)]);
    if (shareTo !== undefined) actions.push(['create', { partitionKey: p.id, rowKey: POSTING, state: 'pending', reason: '', shareTo, sharedHere: false }]);
    return actions;
  }

  /** How the new card's post to the reps' channel went (undefined: none was made, or the proposal is gone). */
  async posting(id: string): Promise<Posting | undefined> {
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(id, POSTING);
      const parsed = PostingRow.safeParse(row);
      return parsed.success ? { ...parsed.data, etag: String(row.etag) } : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * The posting row's change after its outcome (under its ETag): shared elsewhere instead, and where to
   * no longer kept; with the proposal row unchanged under `headEtag`, so the card shared is of the
   * proposal as it still is.
   */
  postingSettled(id: string, etag: string, sharedHere: boolean, headEtag: string): TransactionAction[] {
    return [
      ['update', { partitionKey: id, rowKey: POSTING, shareTo: '', sharedHere }, 'Merge', { etag }],
      ['update', { partitionKey: id, rowKey: HEAD }, 'Merge', { etag: headEtag }],
    ];
  }

  /** The proposal with its decisions and posts: one partition query that leaves out the history. */
  async load(id: string): Promise<Loaded | undefined> {
    let head: z.infer<typeof HeadRow> | undefined;
    let etag = '';
    const decisions = new Map<string, Decision>();
    const posts: Post[] = [];
    const filter = odata`PartitionKey eq ${id} and (RowKey eq ${HEAD} or (RowKey ge ${SCHOOL} and RowKey lt ${'school}'}) or (RowKey ge ${POST} and RowKey lt ${'post}'}))`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      if (row.rowKey === HEAD) {
        head = parseRow(HeadRow, row, this.logger, PROPOSALS_TABLE);
        etag = row.etag;
      } else if (row.rowKey?.startsWith(SCHOOL)) {
        const parsed = parseRow(DecisionRow, row, this.logger, PROPOSALS_TABLE);
        if (parsed) decisions.set(parsed.rowKey.slice(SCHOOL.length), toDecision(parsed));
      } else if (row.rowKey?.startsWith(POST)) {
        const parsed = parseRow(PostRow, row, this.logger, PROPOSALS_TABLE);
        if (parsed) posts.push({ conversationId: parsed.conversationId, activityId: parsed.activityId, reference: parsed.reference, version: parsed.version });
      }
    }
    if (!head) return undefined;
    const proposal = this.toProposal(head);
    if (!proposal) return undefined;
    return { agg: { proposal, decisions }, etag, posts };
  }

  /**
   * The rows of a change made from `loaded` (for one transaction): the proposal row under its ETag,
   * every decision row of the next state (rows of schools taken off are deleted), the audit entry and,
   * for an edit, the new version's snapshot.
   */
  commitActions(loaded: Loaded, next: Aggregate, audit: AuditEntry, newVersion: boolean): TransactionAction[] {
    const p = next.proposal;
    const actions: TransactionAction[] = [['update', headEntity(next), 'Replace', { etag: loaded.etag }]];
    for (const d of next.decisions.values()) {
      const before = loaded.agg.decisions.get(d.schoolId);
      if (!before || JSON.stringify(decisionEntity(p.id, before)) !== JSON.stringify(decisionEntity(p.id, d))) actions.push(['upsert', decisionEntity(p.id, d), 'Replace']);
    }
    for (const schoolId of loaded.agg.decisions.keys()) if (!next.decisions.has(schoolId)) actions.push(['delete', { partitionKey: p.id, rowKey: `${SCHOOL}${schoolId}` }]);
    if (newVersion) actions.push(['create', versionEntity(p, audit)]);
    actions.push(['create', auditEntity(p.id, p.rev, audit)]);
    return actions;
  }

  async addPost(id: string, post: Post): Promise<void> {
    await this.table.upsertEntity({ partitionKey: id, rowKey: `${POST}${encodeKey(post.activityId)}`, conversationId: post.conversationId, activityId: post.activityId, reference: post.reference, version: post.version ?? 0 }, 'Replace');
  }

  /** The proposal row's rev as stored now (one point read), or undefined if it is gone. */
  async rev(id: string): Promise<number | undefined> {
    try {
      const row = await this.table.getEntity<{ rev?: unknown }>(id, HEAD, { queryOptions: { select: ['rev'] } });
      return typeof row.rev === 'number' ? row.rev : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Every proposal (the proposal rows only), for the list. */
  async summaries(): Promise<Summary[]> {
    const out: Summary[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`RowKey eq ${HEAD}` } })) {
      const head = parseRow(HeadRow, row, this.logger, PROPOSALS_TABLE);
      const proposal = head ? this.toProposal(head) : undefined;
      if (!head || !proposal) continue;
      const c = proposal.content;
      out.push({
        id: proposal.id,
        title: c.title,
        leadSchoolId: proposal.leadSchoolId,
        proposerAad: proposal.proposer.aadObjectId,
        status: head.status,
        partnerSchoolIds: c.partnerSchoolIds,
        waitingOn: parseIds(head.waitingOn),
        approved: head.approved,
        mutualNeeds: c.mutualNeeds,
        funderOutcomes: c.funderOutcomes,
        decisionBy: c.decisionBy,
        version: proposal.version,
        updatedAt: proposal.updatedAt,
      });
    }
    return out;
  }

  /** For reports: proposals first submitted, or signed off or withdrawn, in [start, end) (the proposal rows only). */
  async submittedOrClosedBetween(start: Date, end: Date): Promise<Proposal[]> {
    const [s, e] = [start.toISOString(), end.toISOString()];
    const filter = odata`RowKey eq ${HEAD} and ((createdAt ge ${s} and createdAt lt ${e}) or (closedAt ge ${s} and closedAt lt ${e}))`;
    const out: Proposal[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const head = parseRow(HeadRow, row, this.logger, PROPOSALS_TABLE);
      const proposal = head ? this.toProposal(head) : undefined;
      if (proposal) out.push(proposal);
    }
    return out;
  }

  /** For reports and outcome records: every approved proposal (the proposal rows only). */
  async approved(): Promise<Proposal[]> {
    const out: Proposal[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`RowKey eq ${HEAD} and lifecycle eq 'approved'` } })) {
      const head = parseRow(HeadRow, row, this.logger, PROPOSALS_TABLE);
      const proposal = head ? this.toProposal(head) : undefined;
      if (proposal) out.push(proposal);
    }
    return out;
  }

  /** Every audit entry (oldest first) and every version of a proposal. */
  async history(id: string): Promise<History> {
    const entries: AuditEntry[] = [];
    const versions: VersionSnapshot[] = [];
    const filter = odata`PartitionKey eq ${id} and ((RowKey ge ${AUDIT} and RowKey lt ${'audit}'}) or (RowKey ge ${VERSION} and RowKey lt ${'version}'}))`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      if (row.rowKey?.startsWith(AUDIT)) {
        const a = parseRow(AuditRow, row, this.logger, PROPOSALS_TABLE);
        if (a) entries.push({ kind: a.kind, version: a.version, by: { aadObjectId: a.byAad, name: a.byName }, at: new Date(a.at), schoolId: a.schoolId || undefined, comment: a.comment });
      } else if (row.rowKey?.startsWith(VERSION)) {
        const v = parseRow(VersionRow, row, this.logger, PROPOSALS_TABLE);
        const content = v ? parseContent(v.content) : undefined;
        if (v && content) versions.push({ version: Number(v.rowKey.slice(VERSION.length)), content, by: { aadObjectId: v.byAad, name: v.byName }, at: new Date(v.at) });
      }
    }
    return { entries, versions };
  }

  /** The partnership's mutual needs or funder outcomes: the stored list, or DOMAIN.md's defaults until a coordinator changes it. */
  async tags(kind: TagKind): Promise<Tag[]> {
    return (await this.readTags(kind)).tags;
  }

  /** Changes a list under its ETag (creating it from the defaults the first time); retries when someone else changed it first. */
  async updateTags<T extends { ok: boolean }>(kind: TagKind, change: (tags: Tag[]) => T & ({ ok: true; tags: Tag[] } | { ok: false })): Promise<T> {
    const changed = await changeRow<Tag[], T, T>(
      this.table,
      async () => {
        const current = await this.readTags(kind);
        return { value: current.tags, etag: current.etag };
      },
      (tags) => {
        const result = change(tags);
        if (!result.ok) return { refused: result };
        return { write: { partitionKey: SETTINGS, rowKey: `tags|${kind}`, tags: JSON.stringify((result as { tags: Tag[] }).tags) }, value: result };
      },
      'proposals: a list',
    );
    return changed.ok ? changed.value : changed.refusal;
  }

  private async readTags(kind: TagKind): Promise<{ tags: Tag[]; etag?: string }> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(SETTINGS, `tags|${kind}`);
      const row = parseRow(TagsRow, entity, this.logger, PROPOSALS_TABLE);
      const list = row ? TagList.safeParse(safeJson(row.tags)) : undefined;
      if (list?.success) return { tags: list.data, etag: entity.etag };
      this.logger.warn({ table: PROPOSALS_TABLE, rowKey: `tags|${kind}` }, 'a stored list does not parse; using the defaults');
      return { tags: defaults(kind), etag: entity.etag };
    } catch (err) {
      if (statusOf(err) === 404) return { tags: defaults(kind) };
      throw err;
    }
  }

  private toProposal(h: z.infer<typeof HeadRow>): Proposal | undefined {
    const content = parseContent(h.content);
    if (!content) {
      this.logger.warn({ table: PROPOSALS_TABLE, partitionKey: h.partitionKey }, 'skipped a proposal whose content does not parse');
      return undefined;
    }
    return {
      id: h.partitionKey,
      leadSchoolId: h.leadSchoolId,
      proposer: { aadObjectId: h.proposerAad, teamsId: h.proposerTeamsId, name: h.proposerName },
      content,
      version: h.version,
      rev: h.rev,
      lifecycle: h.lifecycle,
      createdAt: new Date(h.createdAt),
      updatedAt: new Date(h.updatedAt),
      closed: h.closedAt ? { by: { aadObjectId: h.closedByAad, name: h.closedByName }, at: new Date(h.closedAt), comment: h.closedComment } : undefined,
    };
  }
}

function defaults(kind: TagKind): Tag[] {
  return tagsFromLabels(kind === 'needs' ? DEFAULT_MUTUAL_NEEDS : DEFAULT_FUNDER_OUTCOMES);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseContent(json: string): Content | undefined {
  const parsed = ContentSchema.safeParse(safeJson(json));
  if (!parsed.success) return undefined;
  return { ...parsed.data, budgetPence: parsed.data.budgetPence ?? undefined };
}

function parseIds(json: string): string[] {
  const parsed = z.array(z.string()).safeParse(safeJson(json));
  return parsed.success ? parsed.data : [];
}

function headEntity(agg: Aggregate) {
  const p = agg.proposal;
  return {
    partitionKey: p.id,
    rowKey: HEAD,
    leadSchoolId: p.leadSchoolId,
    proposerAad: p.proposer.aadObjectId,
    proposerTeamsId: p.proposer.teamsId,
    proposerName: p.proposer.name,
    content: JSON.stringify({ ...p.content, budgetPence: p.content.budgetPence ?? null }),
    version: p.version,
    rev: p.rev,
    lifecycle: p.lifecycle,
    status: proposalStatus(agg),
    waitingOn: JSON.stringify(waitingOn(agg)),
    approved: approvedCount(agg),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
    closedByAad: p.closed?.by.aadObjectId ?? '',
    closedByName: p.closed?.by.name ?? '',
    closedAt: p.closed?.at.toISOString() ?? '',
    closedComment: p.closed?.comment ?? '',
  };
}

function decisionEntity(id: string, d: Decision) {
  return {
    partitionKey: id,
    rowKey: `${SCHOOL}${d.schoolId}`,
    status: d.status,
    version: d.version,
    byAad: d.by?.aadObjectId ?? '',
    byName: d.by?.name ?? '',
    at: d.at?.toISOString() ?? '',
    comment: d.comment,
  };
}

function toDecision(r: z.infer<typeof DecisionRow>): Decision {
  return {
    schoolId: r.rowKey.slice(SCHOOL.length),
    status: r.status,
    version: r.version,
    by: r.byAad ? { aadObjectId: r.byAad, name: r.byName } : undefined,
    at: r.at ? new Date(r.at) : undefined,
    comment: r.comment,
  };
}

function versionEntity(p: Proposal, audit: AuditEntry) {
  return {
    partitionKey: p.id,
    rowKey: `${VERSION}${pad(p.version)}`,
    content: JSON.stringify({ ...p.content, budgetPence: p.content.budgetPence ?? null }),
    byAad: audit.by.aadObjectId,
    byName: audit.by.name,
    at: audit.at.toISOString(),
  };
}

function auditEntity(id: string, rev: number, a: AuditEntry) {
  return {
    partitionKey: id,
    rowKey: `${AUDIT}${pad(rev)}`,
    kind: a.kind,
    version: a.version,
    byAad: a.by.aadObjectId,
    byName: a.by.name,
    at: a.at.toISOString(),
    schoolId: a.schoolId ?? '',
    comment: a.comment,
  };
}
