import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFactory, type ConversationReference } from 'botbuilder';
import { cardAttachment, REFRESH_USER_LIMIT, renderCard, type AdaptiveCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { ConversationStore } from '../platform/conversations/store';
import type { DeadlineRegistry } from '../platform/deadlines/types';
import type { DirectoryStore } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import type { Proactive } from '../platform/proactive';
import { formatDayTime } from '../platform/time';
import { noticeCardData, proposalCardData, schoolList, supersededCardData } from './cards';
import type { Aggregate, AuditEntry } from './model';
import { approvedCount, deadlineChanges, deadlineId, deadlineItem, refreshAudience, statusOf, waitingOn, type Change, type Names, type Refusal, type Result } from './rules';
import type { Post, ProposalStore } from './store';
import { parseReference } from '../platform/conversations/reference';

/**
 * What happens around a committed proposal change: the change itself is retried from a fresh read
 * when another writer committed first (so two reps deciding at once are both recorded); afterwards
 * every posted copy of the card is updated in place from stored state, the deadline registry hears
 * which decisions are now awaited, done or no longer needed, the proposer is told in personal chat,
 * and an approval is announced in the reps' channel.
 */

export interface ProposalServiceDeps {
  readonly store: ProposalStore;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly proactive: Proactive;
  readonly deadlines: DeadlineRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type Applied =
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly refusal: Refusal; readonly agg: Aggregate }
  | { readonly kind: 'done'; readonly change: Change; readonly before: Aggregate; readonly posts: readonly Post[] };

type Reference = Partial<ConversationReference>;

/** How long a turn to tell the proposer lasts if its instance stops, and how long another waits for it. */
const NOTICE_TURN_MS = 30_000;
const NOTICE_TURN_WAIT_MS = 10_000;
/** About NOTICE_TURN_WAIT_MS of tries, for a clock that does not move by itself (tests). */
const NOTICE_TURN_TRIES = 300;

export class ProposalService {
  constructor(private readonly deps: ProposalServiceDeps) {}

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
   * The card everyone in the channel sees: no buttons but *Show my options*, and `refresh` listing the
   * Teams ids of the people who may act on it (the directory keeps reps' and coordinators' ids), so Teams
   * fetches their own view with their buttons.
   */
  async sharedCard(agg: Aggregate, names: Names): Promise<AdaptiveCard> {
    const people = await this.deps.directory.staff();
    return renderCard('proposalCard', proposalCardData(agg, this.deps.clock.now(), names, '', undefined, refreshAudience(agg, people, names, REFRESH_USER_LIMIT)));
  }

  /**
   * Applies a rule to the stored proposal and commits the result under the proposal row's ETag. When
   * someone else committed in between, reads again and re-applies the rule to their result, so their
   * change and this one both stand (or this one is refused for a reason that now holds).
   */
  async apply(id: string, rule: (agg: Aggregate) => Result): Promise<Applied> {
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const loaded = await this.deps.store.load(id);
      if (!loaded) return { kind: 'missing' };
      const result = rule(loaded.agg);
      if (!result.ok) return { kind: 'refused', refusal: result, agg: loaded.agg };
      if (await this.deps.store.commit(loaded, result.next, result.audit, result.newVersion)) return { kind: 'done', change: result, before: loaded.agg, posts: loaded.posts };
      this.deps.logger.info({ proposalId: id, attempt }, 'proposal changed meanwhile; applying again on the new state');
      await sleep(5 + Math.floor(Math.random() * 20 * (attempt + 1)));
    }
    throw new Error(`proposal ${id} kept changing under us`);
  }

  /** Everything that follows a committed change. Failures are logged, never undo the change or fail the turn. */
  async followUp(before: Aggregate | undefined, next: Aggregate, audit: AuditEntry, posts: readonly Post[], via: Reference | undefined): Promise<void> {
    const names = await this.schoolNames();
    await this.guard('update the proposal card', () => this.refreshCards(next, posts, names));
    await this.guard('record deadlines', () => this.syncDeadlines(before, next, names));
    if (audit.kind === 'edited') await this.guard('re-post the edited proposal', () => this.repost(next, posts, names));
    if (audit.by.aadObjectId !== next.proposal.proposer.aadObjectId) await this.guard('tell the proposer', () => this.tellProposer(next, audit, names, via));
    if (audit.kind === 'signedOff') await this.guard('announce the approval', () => this.announce(next, posts, names));
  }

  private async guard(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.deps.logger.error({ err: { message: (err as Error).message } }, `proposals: could not ${what}`);
    }
  }

  /**
   * Updates every posted copy of the card. Another instance may commit and update while this one is
   * still sending an older state, so after sending, the stored rev is checked and, if it moved on,
   * the card is sent again from what is stored: the last update to reach Teams shows the latest state.
   */
  async refreshCards(agg: Aggregate, posts: readonly Post[], names: Names): Promise<void> {
    let current = agg;
    let targets = posts;
    for (let round = 0; round < 5; round += 1) {
      const card = await this.sharedCard(current, names);
      for (const post of targets) {
        const reference = parseReference(post.reference);
        if (!reference) continue;
        // A copy posted for an earlier version was replaced by the edited one: it says so, with no buttons to decide.
        const shown = post.version && post.version < current.proposal.version ? renderCard('proposalNotice', supersededCardData(current, post.version)) : card;
        await this.deps.proactive.update(reference, post.activityId, MessageFactory.attachment(cardAttachment(shown))).catch((err) => this.deps.logger.warn({ err: { message: (err as Error).message } }, 'could not update a proposal card'));
      }
      const stored = await this.deps.store.rev(current.proposal.id);
      if (stored === undefined || stored <= current.proposal.rev) return;
      const fresh = await this.deps.store.load(current.proposal.id);
      if (!fresh || fresh.agg.proposal.rev <= current.proposal.rev) return;
      current = fresh.agg;
      targets = fresh.posts;
    }
  }

  async syncDeadlines(before: Aggregate | undefined, next: Aggregate, names: Names): Promise<void> {
    const { register, complete, cancel } = deadlineChanges(before, next);
    for (const schoolId of register) await this.deps.deadlines.register(deadlineItem(next, schoolId, names(schoolId), names(next.proposal.leadSchoolId)));
    for (const schoolId of complete) await this.deps.deadlines.complete(deadlineId(next.proposal.id, schoolId));
    for (const schoolId of cancel) await this.deps.deadlines.cancel(deadlineId(next.proposal.id, schoolId));
  }

  /** The reps' channel (directory role 'reps') as a stored conversation, if there is one the bot can reach. */
  async repsChannel(): Promise<{ conversationId: string; reference: Reference } | undefined> {
    const channel = (await this.deps.directory.channels()).find((c) => c.role.kind === 'reps');
    if (!channel) return undefined;
    const stored = await this.deps.conversations.conversation(channel.conversationId);
    return stored ? { conversationId: channel.conversationId, reference: stored.reference } : undefined;
  }

  /** Posts the shared card in a conversation and remembers the post so later changes update it. */
  async post(agg: Aggregate, where: { conversationId: string; reference: Reference }, names: Names): Promise<boolean> {
    const card = await this.sharedCard(agg, names);
    const id = await this.deps.proactive.send(where.reference, MessageFactory.attachment(cardAttachment(card)));
    if (!id) return false;
    await this.deps.store.addPost(agg.proposal.id, { conversationId: where.conversationId, activityId: id, reference: JSON.stringify(where.reference), version: agg.proposal.version });
    return true;
  }

  /** An edited version goes to the bottom of the reps' channel (or where the card was first posted) so reps see it again. */
  private async repost(agg: Aggregate, posts: readonly Post[], names: Names): Promise<void> {
    const reps = await this.repsChannel();
    const first = posts.map((p) => ({ conversationId: p.conversationId, reference: parseReference(p.reference) })).find((p) => p.reference);
    const where = reps ?? (first ? { conversationId: first.conversationId, reference: first.reference! } : undefined);
    if (where) await this.post(agg, where, names);
  }

  /**
   * Tells the proposer of a change. Two decisions committed at the same moment on two instances would
   * otherwise race to the proposer, so notices about one proposal go one at a time (a turn row under
   * its ETag), and each reports where the proposal stands as stored when it is sent: a notice never
   * reports fewer approvals than one before it.
   */
  private async tellProposer(committed: Aggregate, audit: AuditEntry, names: Names, via: Reference | undefined): Promise<void> {
    const id = committed.proposal.id;
    const holder = randomBytes(6).toString('hex');
    const giveUpAt = this.deps.clock.elapsed() + NOTICE_TURN_WAIT_MS;
    let turn = await this.deps.store.takeNoticeTurn(id, holder, this.deps.clock.now(), new Date(this.deps.clock.now().getTime() + NOTICE_TURN_MS));
    for (let tries = 0; turn === 'held' && tries < NOTICE_TURN_TRIES && this.deps.clock.elapsed() < giveUpAt; tries += 1) {
      await sleep(20 + Math.floor(Math.random() * 30));
      turn = await this.deps.store.takeNoticeTurn(id, holder, this.deps.clock.now(), new Date(this.deps.clock.now().getTime() + NOTICE_TURN_MS));
    }
    if (turn === 'held') this.deps.logger.warn({ proposalId: id }, 'another notice to the proposer is taking long; sending this one anyway');
    try {
      const now = (await this.deps.store.load(id))?.agg;
      await this.sendProposerNotice(now && now.proposal.rev >= committed.proposal.rev ? now : committed, audit, names, via);
    } finally {
      if (turn !== 'held') await this.deps.store.releaseNoticeTurn(id, turn);
    }
  }

  private async sendProposerNotice(agg: Aggregate, audit: AuditEntry, names: Names, via: Reference | undefined): Promise<void> {
    const p = agg.proposal;
    const title = p.content.title;
    const school = audit.schoolId ? names(audit.schoolId) || 'A partner school' : '';
    const when = formatDayTime(audit.at, this.deps.clock.now());
    const open = p.lifecycle === 'open';
    const pending = waitingOn(agg);
    const progress =
      statusOf(agg) === 'awaitingSignOff'
        ? 'Every partner school has approved: a coordinator gives the final sign-off next.'
        : `${approvedCount(agg)} of ${p.content.partnerSchoolIds.length} partner schools have approved${pending.length > 0 ? `; waiting for ${schoolList(pending, names)}` : ''}.`;
    let data;
    switch (audit.kind) {
      case 'approved':
        data = noticeCardData(`${school} approved '${title}'`, `By ${audit.by.name}, ${when}. ${progress}`, p.id, { comment: audit.comment, canEdit: open });
        break;
      case 'changesRequested':
        data = noticeCardData(`${school} asks for changes to '${title}'`, `From ${audit.by.name}, ${when}. Edit the proposal and every partner school will look at it again.`, p.id, { comment: audit.comment, canEdit: open });
        break;
      case 'declined':
        data = noticeCardData(`${school} declined '${title}'`, `By ${audit.by.name}, ${when}. You can edit the proposal (for example with other partner schools) or withdraw it.`, p.id, { comment: audit.comment, canEdit: open });
        break;
      case 'signedOff':
        data = noticeCardData(`'${title}' is approved`, `${audit.by.name} gave the final sign-off, ${when}, after every partner school approved. It is announced to the reps.`, p.id);
        break;
      case 'withdrawn':
        data = noticeCardData(`'${title}' was withdrawn`, `By ${audit.by.name}, ${when}.`, p.id, { comment: audit.comment });
        break;
      case 'edited':
        data = noticeCardData(`'${title}' was edited`, `${audit.by.name} saved version ${audit.version}, ${when}. ${audit.comment}`, p.id, { canEdit: open });
        break;
      default:
        return;
    }
    const sent = await this.deps.proactive.toPerson(p.proposer, via, MessageFactory.attachment(cardAttachment(renderCard('proposalNotice', data))));
    if (!sent) this.deps.logger.warn({ proposalId: p.id }, 'the proposer could not be told of a decision');
  }

  private async announce(agg: Aggregate, posts: readonly Post[], names: Names): Promise<void> {
    const p = agg.proposal;
    const data = noticeCardData(
      `Approved: ${p.content.title}`,
      `Every partner school approved (${schoolList(p.content.partnerSchoolIds, names)}) and ${p.closed?.by.name ?? 'a coordinator'} gave the final sign-off. Lead school: ${names(p.leadSchoolId) || 'not known'}; proposed by ${p.proposer.name}.`,
      p.id,
    );
    const activity = MessageFactory.attachment(cardAttachment(renderCard('proposalNotice', data)));
    const reps = await this.repsChannel();
    if (reps) {
      await this.deps.proactive.send(reps.reference, activity);
      return;
    }
    // No reps' channel: announce wherever the card was posted.
    const seen = new Set<string>();
    for (const post of posts) {
      const reference = parseReference(post.reference);
      if (!reference || seen.has(post.conversationId)) continue;
      seen.add(post.conversationId);
      await this.deps.proactive.send(reference, activity);
    }
  }
}
