import { performance } from 'node:perf_hooks';
import { MessageFactory, type ConversationReference } from 'botbuilder';
import { cardAttachment, renderCard, type AdaptiveCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { ConversationStore } from '../platform/conversations/store';
import type { Claimed, DeadlineStore, StoredDeadline } from '../platform/deadlines/store';
import type { DirectoryStore } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import type { Proactive } from '../platform/proactive';
import { londonDate } from '../platform/time';
import { digestCardData, MAX_DIGEST_ESCALATIONS, MAX_DIGEST_ITEMS } from './cards';
import type { Policy } from './model';
import { afterRound, decide, mustAct, nextLook, nextSchoolDayStart, partRound, stillToNudge, type Decision } from './rules';
import type { NudgeStore } from './store';

/**
 * The scheduler's nudge round, run on every tick in every instance (nothing kept in memory between
 * ticks):
 * 1. take the tick lease (one instance at a time; a crashed instance's lease lapses);
 * 2. read the due rows (only what is due: see DeadlineStore) and claim each item (ETag on its item row);
 *    items with nothing to send yet are refiled for when they next need a look;
 * 3. work out who gets what now: the person, or the school's reps as the directory has them now; the
 *    coordinators for an overdue item's one escalation;
 * 4. for each person, claim their one message of the day (a row per person per London day), send one
 *    digest card with everything for them, most urgent first, and record it as sent;
 * 5. record each item's progress and file it for its next nudge, releasing the claim.
 * A crash anywhere leaves claims that lapse, and the next tick (here or in another instance) does what
 * was left: an item is never lost, and a person is messaged again only if the crash came between the
 * send and its record.
 */

export interface NudgeServiceDeps {
  readonly deadlines: DeadlineStore;
  readonly store: NudgeStore;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly proactive: Proactive;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly partnershipName: string;
  /** How long claims (the lease, an item, a person's day) hold before another instance may take them over. Default 5 minutes. */
  readonly leaseMs?: number;
  /** At most this many due items per tick (the rest wait for the next tick). Default 200. */
  readonly batch?: number;
  /** Tests only: called after each step of a tick; throwing there stops the tick the way a crash would. */
  readonly onStep?: (step: 'claimed' | 'sent') => void;
}

export interface TickReport {
  /** Another instance held the lease. */
  readonly skipped: boolean;
  readonly due: number;
  readonly claimed: number;
  /** Items refiled without a message (planned, waiting for school hours, finished). */
  readonly refiled: number;
  /** Digest messages sent. */
  readonly messages: number;
  /** Person-items held back to another day (the person already had today's message, or it could not be delivered). */
  readonly heldBack: number;
  readonly ms: number;
}

export interface Recipient {
  readonly aadObjectId: string;
  readonly name: string;
  readonly teamsId?: string;
  readonly schoolId?: string;
}

type Outcome = 'sent' | 'heldBack' | 'retry';

interface Work {
  readonly claimed: Claimed;
  readonly decision: Decision;
  readonly recipients: Recipient[];
  readonly outcomes: Map<string, Outcome>;
}

const tagOf = (w: Work) => `${w.decision.kind === 'escalate' ? 'e' : 'n'}:${w.claimed.record.id}`;

export class NudgeService {
  private readonly leaseMs: number;
  private readonly batch: number;

  constructor(private readonly deps: NudgeServiceDeps) {
    this.leaseMs = deps.leaseMs ?? 5 * 60_000;
    this.batch = deps.batch ?? 200;
  }

  policy(): Promise<Policy> {
    return this.deps.store.policy();
  }

  async tick(now: Date = this.deps.clock.now()): Promise<TickReport> {
    const started = performance.now();
    const { store } = this.deps;
    const lease = await store.acquireLease(now, this.leaseMs);
    if (!lease) return { skipped: true, due: 0, claimed: 0, refiled: 0, messages: 0, heldBack: 0, ms: performance.now() - started };

    try {
      return await this.round(now, started);
    } finally {
      // A crash leaves the lease to lapse; an error can give it back (the items' own claims still hold).
      await store.releaseLease(lease).catch(() => undefined);
    }
  }

  private async round(now: Date, started: number): Promise<TickReport> {
    const { deadlines, store, logger } = this.deps;
    const policy = await store.policy();
    const due = await deadlines.due(now, this.batch);
    const work: Work[] = [];
    let claimedCount = 0;
    let refiled = 0;
    for (const row of due) {
      const claimed = await deadlines.claim(row, now, this.leaseMs);
      if (!claimed) continue;
      claimedCount += 1;
      const decision = decide(claimed.record, policy, now);
      if (decision.kind === 'wait' || decision.kind === 'idle') {
        await deadlines.settle(claimed, claimed.record.progress, nextLook(decision, now), now);
        refiled += 1;
        continue;
      }
      work.push({ claimed, decision, recipients: [], outcomes: new Map() });
    }
    this.deps.onStep?.('claimed');

    const people = new PeopleCache(this.deps);
    const byPerson = new Map<string, { to: Recipient; items: Work[] }>();
    for (const w of work) {
      const everyone = w.decision.kind === 'escalate' ? await people.coordinators() : await people.actorsOf(w.claimed.record);
      w.recipients.push(...stillToNudge(w.claimed.record.progress, w.decision, everyone));
      if (w.recipients.length === 0 && everyone.length === 0) {
        logger.warn({ deadline: w.claimed.record.id, kind: w.decision.kind }, w.decision.kind === 'escalate' ? 'an overdue item has no coordinators to tell' : 'a deadline has nobody to nudge (a school without reps?)');
      }
      for (const to of w.recipients) {
        let entry = byPerson.get(to.aadObjectId);
        if (!entry) {
          entry = { to, items: [] };
          byPerson.set(to.aadObjectId, entry);
        }
        entry.items.push(w);
      }
    }

    let messages = 0;
    let heldBack = 0;
    const day = londonDate(now);
    for (const { to, items } of byPerson.values()) {
      const claim = await store.claimDay(day, to.aadObjectId, now, this.leaseMs);
      if (claim.kind === 'busy') {
        for (const w of items) w.outcomes.set(to.aadObjectId, 'retry');
        continue;
      }
      if (claim.kind === 'sent') {
        // Today's message has gone: what it carried is done for this person; the rest waits for tomorrow.
        for (const w of items) w.outcomes.set(to.aadObjectId, claim.items.includes(tagOf(w)) ? 'sent' : 'heldBack');
        continue;
      }
      const nudges = items.filter((w) => w.decision.kind === 'nudge').sort((a, b) => a.claimed.record.dueAt.getTime() - b.claimed.record.dueAt.getTime());
      const escalations = items.filter((w) => w.decision.kind === 'escalate').sort((a, b) => a.claimed.record.dueAt.getTime() - b.claimed.record.dueAt.getTime());
      const carried = [...nudges.slice(0, MAX_DIGEST_ITEMS), ...escalations.slice(0, MAX_DIGEST_ESCALATIONS)];
      const card = renderCard(
        'nudgeDigest',
        digestCardData({
          nudges: carried.filter((w) => w.decision.kind === 'nudge').map((w) => w.claimed.record),
          escalations: carried.filter((w) => w.decision.kind === 'escalate').map((w) => w.claimed.record),
          viewer: to.aadObjectId,
          now,
          day,
          policy,
          partnership: this.deps.partnershipName,
          schoolName: escalations.length > 0 ? await people.schoolNames() : () => '',
        }),
      );
      const delivered = await this.deliver(to, card, people);
      this.deps.onStep?.('sent');
      if (delivered) {
        await store.markSent(claim, carried.map(tagOf));
        messages += 1;
        for (const w of items) w.outcomes.set(to.aadObjectId, carried.includes(w) ? 'sent' : 'heldBack');
      } else {
        await store.releaseDay(claim);
        for (const w of items) w.outcomes.set(to.aadObjectId, 'heldBack');
      }
    }

    for (const w of work) {
      const record = w.claimed.record;
      const sentTo = w.recipients.filter((r) => w.outcomes.get(r.aadObjectId) === 'sent').map((r) => r.aadObjectId);
      const outcomes = [...w.outcomes.values()];
      heldBack += outcomes.filter((o) => o === 'heldBack').length;
      if (sentTo.length === w.recipients.length) {
        const progress = afterRound(record.progress, w.decision, now);
        await deadlines.settle(w.claimed, progress, nextLook(decide({ ...record, progress }, policy, now), now), now);
      } else if (sentTo.length === 0 && outcomes.every((o) => o === 'retry')) {
        await deadlines.release(w.claimed);
      } else {
        const progress = partRound(record.progress, w.decision, sentTo);
        const retrySoon = outcomes.includes('retry');
        const next = retrySoon ? new Date(now.getTime() + 60_000) : (nextSchoolDayStart(now, policy) ?? undefined);
        await deadlines.settle(w.claimed, progress, next, now);
      }
    }
    const report: TickReport = { skipped: false, due: due.length, claimed: claimedCount, refiled, messages, heldBack, ms: performance.now() - started };
    if (report.due > 0) logger.info({ nudges: { ...report, ms: Math.round(report.ms) } }, 'nudge tick');
    return report;
  }

  /**
   * To the person's personal chat: the stored one, else a new 1:1 opened with their Teams id (known for
   * a person named on the item, or looked up among the members of a channel the bot is in).
   */
  private async deliver(to: Recipient, card: AdaptiveCard, people: PeopleCache): Promise<boolean> {
    const activity = MessageFactory.attachment(cardAttachment(card));
    const { proactive, conversations, logger } = this.deps;
    const stored = await conversations.personal(to.aadObjectId);
    if (stored) {
      try {
        await proactive.send(stored.reference, activity);
        return true;
      } catch (err) {
        logger.warn({ err: { message: (err as Error).message, status: (err as { statusCode?: number }).statusCode } }, 'nudge not sent');
        return false;
      }
    }
    const via = await people.via(to.schoolId);
    if (!via) {
      logger.warn({ reason: 'no personal chat and no channel to reach them through' }, 'nudge not sent');
      return false;
    }
    const address = to.teamsId ? { aadObjectId: to.aadObjectId, teamsId: to.teamsId, name: to.name } : await proactive.member(via, to.aadObjectId);
    if (!address) {
      logger.warn({ reason: 'not found among the members of the channel' }, 'nudge not sent');
      return false;
    }
    return proactive.toPerson(address, via, activity);
  }

  /**
   * The digest card someone got on `day`, as it stands now, for when they press a button on it: what the
   * message carried is read from their own record of the day, so a card cannot be made to show others' items.
   */
  async digestView(viewer: { aadObjectId: string; isRep: boolean; isCoordinator: boolean; schoolId?: string }, day: string, now: Date, notice?: string): Promise<AdaptiveCard> {
    const tags = await this.deps.store.dayItems(day, viewer.aadObjectId);
    const ids = (prefix: string) => tags.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length));
    const load = async (list: readonly string[]) => (await Promise.all(list.slice(0, MAX_DIGEST_ESCALATIONS).map((id) => this.deps.deadlines.get(id)))).filter((i): i is StoredDeadline => i !== undefined);
    const nudges = (await load(ids('n:'))).filter((i) => mustAct(i, viewer));
    const escalations = viewer.isCoordinator ? await load(ids('e:')) : [];
    const schools = await this.deps.directory.schools(30_000);
    return renderCard(
      'nudgeDigest',
      digestCardData({
        nudges,
        escalations,
        viewer: viewer.aadObjectId,
        now,
        policy: await this.deps.store.policy(),
        partnership: this.deps.partnershipName,
        schoolName: (id) => schools.find((s) => s.id === id)?.name ?? '',
        day,
        notice,
      }),
    );
  }
}

/** What one tick looks up, once each: reps per school, coordinators, school names, channels to find people through. */
class PeopleCache {
  private readonly reps = new Map<string, Promise<Recipient[]>>();
  private coordinatorList: Promise<Recipient[]> | undefined;
  private names: Promise<(id: string) => string> | undefined;
  private channels: Promise<{ role: { kind: string; schoolId?: string }; conversationId: string }[]> | undefined;
  private readonly references = new Map<string, Promise<Partial<ConversationReference> | undefined>>();

  constructor(private readonly deps: NudgeServiceDeps) {}

  async actorsOf(item: StoredDeadline): Promise<Recipient[]> {
    const who = item.who;
    if (who.kind === 'person') return [{ aadObjectId: who.aadObjectId.toLowerCase(), name: who.name ?? '', teamsId: who.teamsId, schoolId: item.schoolId }];
    let list = this.reps.get(who.schoolId);
    if (!list) {
      list = this.deps.directory.repsOf(who.schoolId).then((reps) => reps.map((r) => ({ aadObjectId: r.aadObjectId, name: r.name, schoolId: who.schoolId })));
      this.reps.set(who.schoolId, list);
    }
    return list;
  }

  coordinators(): Promise<Recipient[]> {
    this.coordinatorList ??= this.deps.directory.coordinators().then((people) => people.map((p) => ({ aadObjectId: p.aadObjectId, name: p.name, schoolId: p.schoolId })));
    return this.coordinatorList;
  }

  schoolNames(): Promise<(id: string) => string> {
    this.names ??= this.deps.directory.schools(30_000).then((schools) => (id: string) => schools.find((s) => s.id === id)?.name ?? '');
    return this.names;
  }

  /** A channel the bot is in to open a 1:1 through: the person's school's channel, else the reps', else the announcements', else any. */
  async via(schoolId: string | undefined): Promise<Partial<ConversationReference> | undefined> {
    this.channels ??= this.deps.directory.channels();
    const channels = await this.channels;
    const rank = (c: { role: { kind: string; schoolId?: string } }) => (c.role.kind === 'school' && c.role.schoolId === schoolId ? 0 : c.role.kind === 'reps' ? 1 : c.role.kind === 'announcements' ? 2 : 3);
    for (const channel of [...channels].sort((a, b) => rank(a) - rank(b))) {
      let reference = this.references.get(channel.conversationId);
      if (!reference) {
        reference = this.deps.conversations.conversation(channel.conversationId).then((c) => c?.reference);
        this.references.set(channel.conversationId, reference);
      }
      const found = await reference;
      if (found) return found;
    }
    return undefined;
  }
}
