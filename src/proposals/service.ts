import { randomBytes } from 'node:crypto';
import { MessageFactory, type ConversationReference } from 'botbuilder';
import { cardAttachment, REFRESH_USER_LIMIT, renderCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import { parseReference } from '../platform/conversations/reference';
import type { ConversationStore } from '../platform/conversations/store';
import type { DirectoryStore, StoredPerson } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import { change, stampOf } from '../platform/outbox/kernel';
import type { Effect, Outbox, Recorded, Then } from '../platform/outbox/outbox';
import { approvedNoticeData, notPostedHereData, proposalCardData, proposerNoticeData, supersededCardData } from './cards';
import type { Aggregate, AuditEntry, Proposal } from './model';
import { deadlineId, deadlineItem, effectsOf, refreshAudience, type Change, type Names, type Refusal, type Result } from './rules';
import { POSTING, PROPOSALS_TABLE, type Post, type ProposalStore } from './store';

/**
 * A proposal change and what it tells people, through the outbox: the rule decides, and the new state
 * is committed with its effects (rules.ts effectsOf, in words from cards.ts) in one transaction under
 * the proposal row's ETag, retried from a fresh read when another writer committed first (so two reps
 * deciding at once are both recorded). The outbox then updates every posted copy of the card to the
 * latest state, tells the deadline registry, posts an edited version again, tells the proposer (one
 * notice after another, in the order the changes were committed) and announces an approval to the
 * reps. A stop after the commit delays these; it never loses them.
 */

export interface ProposalServiceDeps {
  readonly store: ProposalStore;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly outbox: Outbox;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type Applied =
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly refusal: Refusal; readonly agg: Aggregate }
  | { readonly kind: 'done'; readonly change: Change; readonly before: Aggregate; readonly posts: readonly Post[]; readonly delivered: Promise<void> };

type Reference = Partial<ConversationReference>;
type Where = { conversationId: string; reference: Reference };

/** The outbox step after a card is posted: remember the post, so later changes update it. */
const POSTED = 'proposals.posted';
/** Told by the outbox once the new card's post to the reps' channel is settled (sent, refused for good, or no longer to be sent). */
const POSTING_SETTLED = 'proposals.postingSettled';
/** Asked before the new card goes to the reps' channel: not if the proposal was withdrawn or edited meanwhile (the edit posts its own). */
const POSTING_STILL = 'proposals.postingStill';

interface PostedData {
  readonly proposalId: string;
  readonly conversationId: string;
  readonly version: number;
}

/** The step after version `p.version` of the card is posted in `conversationId`: remember where it went. */
function posted(p: Proposal, conversationId: string): Then {
  return { handler: POSTED, data: { proposalId: p.id, conversationId, version: p.version } satisfies PostedData };
}

export class ProposalService {
  constructor(private readonly deps: ProposalServiceDeps) {
    deps.outbox.on(POSTED, async (data, sent) => {
      const d = data as PostedData;
      if (!sent?.activityId) return;
      await deps.store.addPost(d.proposalId, { conversationId: d.conversationId, activityId: sent.activityId, reference: JSON.stringify(sent.reference), version: d.version });
    });
    deps.outbox.on(POSTING_SETTLED, async (data) => {
      await this.afterPosting((data as { partitionKey: string }).partitionKey);
    });
    deps.outbox.onCheck(POSTING_STILL, async (data) => {
      const d = data as { proposalId: string; version: number };
      const p = (await deps.store.load(d.proposalId))?.agg.proposal;
      return !!p && p.lifecycle !== 'withdrawn' && p.version === d.version;
    });
  }

  static newFormId(): string {
    return randomBytes(5).toString('hex');
  }

  static idFor(formId: string): string {
    return `pr${formId}`;
  }

  async schoolNames(): Promise<Names> {
    const schools = await this.deps.directory.schools(30_000);
    return (id: string) => schools.find((s) => s.id === id)?.name ?? '';
  }

  /**
   * Applies a rule to the stored proposal and commits the result with its effects (the platform's
   * commit kernel). `via` is the conversation the person acted in (to reach the proposer).
   */
  async apply(id: string, rule: (agg: Aggregate) => Result, via: Reference | undefined): Promise<Applied> {
    const names = await this.schoolNames();
    const reps = await this.repsChannel();
    const people = await this.deps.directory.staff();
    const changed = await change(
      this.deps.outbox,
      () => this.deps.store.load(id),
      (loaded) => {
        const result = rule(loaded.agg);
        if (!result.ok) return { ok: false as const, refusal: result };
        const effects = this.effects(loaded.agg, result.next, result.audit, loaded.posts, names, people, reps, via);
        return { ok: true as const, value: result, write: { table: PROPOSALS_TABLE, partitionKey: id, actions: this.deps.store.commitActions(loaded, result.next, result.audit, result.newVersion), effects, stamp: stampOf(result.next.proposal.rev) } };
      },
      `proposal ${id}`,
    );
    switch (changed.kind) {
      case 'missing':
        return changed;
      case 'refused':
        return { kind: 'refused', refusal: changed.refusal, agg: changed.loaded.agg };
      case 'done':
        return { kind: 'done', change: changed.value, before: changed.loaded.agg, posts: changed.loaded.posts, delivered: changed.delivered };
    }
  }

  /**
   * Stores a new proposal with its effects: the deadline registry hears of each school's decision, and
   * the card is posted in `postTo` (the reps' channel) when given. 'exists' when it was stored before.
   * The post's outcome is recorded on the proposal ('posting|reps'); if Teams refuses it for good, the
   * card is shared in `via` (where it was proposed) instead, saying why (afterPosting), so the rep who
   * submitted need not wait for Teams to hear where it went.
   */
  async create(agg: Aggregate, audit: AuditEntry, postTo: Where | undefined, via: Reference | undefined): Promise<{ delivered: Promise<void> } | 'exists'> {
    const names = await this.schoolNames();
    const recordPost = postTo ? { row: POSTING, notify: POSTING_SETTLED, durable: true } : undefined;
    const effects = this.effects(undefined, agg, audit, [], names, await this.deps.directory.staff(), postTo, via, recordPost);
    const actions = this.deps.store.createActions(agg, audit, postTo ? JSON.stringify(via ?? {}) : undefined);
    const committed = await this.deps.outbox.commit(PROPOSALS_TABLE, agg.proposal.id, actions, effects, stampOf(agg.proposal.rev));
    return committed || 'exists';
  }

  /**
   * After the new card's post to the reps' channel is settled: where it was proposed is no longer kept;
   * if Teams refused the post for good, the card is shared there instead, with why, once (the posting
   * row changes under its ETag in the same commit; the outbox may tell us more than once).
   */
  async afterPosting(id: string): Promise<void> {
    await change(
      this.deps.outbox,
      async () => {
        const posting = await this.deps.store.posting(id);
        const loaded = posting && posting.state !== 'pending' && posting.shareTo ? await this.deps.store.load(id) : undefined;
        return posting && loaded ? { posting, loaded } : undefined;
      },
      async ({ posting, loaded }) => {
        const where = parseReference(posting.shareTo);
        // Not for a card that was not sent because the proposal was withdrawn or edited meanwhile ('cancelled').
        const failed = posting.state === 'failed' && !!where?.conversation?.id && loaded.agg.proposal.lifecycle !== 'withdrawn';
        const effects: Effect[] = [];
        if (failed) {
          const agg = loaded.agg;
          const p = agg.proposal;
          const names = await this.schoolNames();
          const conversationId = where!.conversation!.id;
          effects.push({ kind: 'post', conversationId, reference: where!, activity: MessageFactory.attachment(cardAttachment(renderCard('proposalNotice', notPostedHereData(p.content.title, posting.reason, posting.lastStatus === 403 || posting.lastStatus === 404, p.id)))) });
          effects.push({ kind: 'post', conversationId, reference: where!, activity: MessageFactory.attachment(cardAttachment(await this.sharedCard(agg, names))), then: posted(p, conversationId) });
        }
        // After the proposal's effects of this revision (its card and notices), before the next revision's.
        return { ok: true as const, value: undefined, write: { table: PROPOSALS_TABLE, partitionKey: id, actions: this.deps.store.postingSettled(id, posting.etag, failed, loaded.etag), effects, stamp: `${stampOf(loaded.agg.proposal.rev)}|shared` } };
      },
      'proposal: after posting to the reps',
    );
  }

  /** The reps' channel (directory role 'reps') as a stored conversation, if there is one the bot can reach. */
  async repsChannel(): Promise<Where | undefined> {
    const channel = (await this.deps.directory.channels()).find((c) => c.role.kind === 'reps');
    if (!channel) return undefined;
    const stored = await this.deps.conversations.conversation(channel.conversationId);
    return stored ? { conversationId: channel.conversationId, reference: stored.reference } : undefined;
  }

  /**
   * The card everyone in the channel sees: no buttons but *Show my options*, and `refresh` listing the
   * Teams ids of the people who may act on it (the directory keeps reps' and coordinators' ids), so Teams
   * fetches their own view with their buttons.
   */
  sharedCardData(agg: Aggregate, names: Names, people: readonly StoredPerson[]) {
    return proposalCardData(agg, this.deps.clock.now(), names, '', undefined, refreshAudience(agg, people, names, REFRESH_USER_LIMIT));
  }

  async sharedCard(agg: Aggregate, names: Names) {
    return renderCard('proposalCard', this.sharedCardData(agg, names, await this.deps.directory.staff()));
  }

  /** The rule's effects as messages and registry changes for the outbox. */
  private effects(before: Aggregate | undefined, next: Aggregate, audit: AuditEntry, posts: readonly Post[], names: Names, people: readonly StoredPerson[], reps: Where | undefined, via: Reference | undefined, recordPost?: Recorded): Effect[] {
    const still = recordPost ? { handler: POSTING_STILL, data: { proposalId: next.proposal.id, version: next.proposal.version } } : undefined;
    const p = next.proposal;
    const now = this.deps.clock.now();
    const card = () => MessageFactory.attachment(cardAttachment(renderCard('proposalCard', this.sharedCardData(next, names, people))));
    const out: Effect[] = [];
    for (const effect of effectsOf(before, next, audit)) {
      switch (effect.kind) {
        case 'refreshCards':
          for (const post of posts) {
            const reference = parseReference(post.reference);
            if (!reference) continue;
            // A copy posted for an earlier version was replaced by the edited one: it says so, with no buttons to decide.
            const shown = post.version && post.version < p.version ? MessageFactory.attachment(cardAttachment(renderCard('proposalNotice', supersededCardData(next, post.version)))) : card();
            out.push({ kind: 'update', reference, activityId: post.activityId, activity: shown });
          }
          break;
        case 'deadlines':
          out.push({
            kind: 'deadlines',
            register: effect.register.map((schoolId) => deadlineItem(next, schoolId, names(schoolId), names(p.leadSchoolId))),
            complete: effect.complete.map((schoolId) => deadlineId(p.id, schoolId)),
            cancel: effect.cancel.map((schoolId) => deadlineId(p.id, schoolId)),
          });
          break;
        case 'postCard': {
          // A new proposal goes where it was asked to; an edited version to the bottom of the reps'
          // channel (or where the card was first posted) so reps see it again.
          const first = posts.map((x) => ({ conversationId: x.conversationId, reference: parseReference(x.reference) })).find((x) => x.reference);
          const where = reps ?? (first && audit.kind === 'edited' ? { conversationId: first.conversationId, reference: first.reference! } : undefined);
          if (where) out.push({ kind: 'post', conversationId: where.conversationId, reference: where.reference, activity: card(), then: posted(p, where.conversationId), record: recordPost, still });
          break;
        }
        case 'tellProposer': {
          const data = proposerNoticeData(next, audit, names, now);
          if (data) out.push({ kind: 'tell', to: p.proposer, via, activity: MessageFactory.attachment(cardAttachment(renderCard('proposalNotice', data))) });
          break;
        }
        case 'announce': {
          const activity = MessageFactory.attachment(cardAttachment(renderCard('proposalNotice', approvedNoticeData(next, names))));
          if (reps) {
            out.push({ kind: 'post', conversationId: reps.conversationId, reference: reps.reference, activity });
            break;
          }
          // No reps' channel: announce wherever the card was posted.
          const seen = new Set<string>();
          for (const post of posts) {
            const reference = parseReference(post.reference);
            if (!reference || seen.has(post.conversationId)) continue;
            seen.add(post.conversationId);
            out.push({ kind: 'post', conversationId: post.conversationId, reference, activity });
          }
          break;
        }
      }
    }
    return out;
  }
}
